package org.streamfusion.gpu;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;

/** The CUDA module's packages, read from its compiled classes (ArchUnit): no cycles, the native layer below the backend. */
class CudaArchitectureTest {
    private static final JavaClasses CUDA = importClasses();

    @Test
    void noPackageCycles() {
        slices().matching("(**)").should().beFreeOfCycles().check(CUDA);
    }

    @Test
    void theNativeLayerKnowsNothingOfTheBackendOrTheCore() {
        noClasses().that().resideInAPackage("org.streamfusion.cuda..").should().dependOnClassesThat()
                .resideInAnyPackage("org.streamfusion.gpu..", "org.streamfusion", "org.streamfusion.backend..",
                        "org.streamfusion.spi..")
                .check(CUDA);
    }

    /** The module's classes: its classes folder under Maven, its jar in the GPU bundle. */
    private static JavaClasses importClasses() {
        try {
            Path location = Path.of(CudaRankDevice.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isDirectory(location)) {
                return new ClassFileImporter().importPath(location);
            }
            try (JarFile jar = new JarFile(location.toFile())) {
                return new ClassFileImporter().importJar(jar);
            }
        } catch (URISyntaxException | IOException e) {
            throw new IllegalStateException("cannot read the CUDA module's classes", e);
        }
    }
}
