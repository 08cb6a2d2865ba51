package org.streamfusion.gpu;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The CUDA module's packages, read from its compiled classes (ArchUnit): no cycles, the native layer below the backend. */
class CudaArchitectureTest {
    private static final JavaClasses CUDA = new ClassFileImporter().importPath(classes());

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

    private static Path classes() {
        try {
            return Path.of(CudaRankDevice.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
