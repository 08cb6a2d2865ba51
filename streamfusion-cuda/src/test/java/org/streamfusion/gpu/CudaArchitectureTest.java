package org.streamfusion.gpu;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.assignableTo;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaConstructorCall;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;
import org.streamfusion.StreamFusionException;

/**
 * The CUDA module's packages, read from its compiled classes (ArchUnit): no cycles, the native layer below the
 * backend, and every unchecked exception it creates under the library's one root.
 */
class CudaArchitectureTest {
    private static final JavaClasses CUDA = importClasses();

    @Test
    void noPackageCycles() {
        slices().matching("(**)").should().beFreeOfCycles().check(CUDA);
    }

    /** Of the core, the native layer names only the exceptions: its failures share the library's one root. */
    @Test
    void theNativeLayerKnowsNothingOfTheBackendOrTheCoreButTheExceptionRoot() {
        noClasses().that().resideInAPackage("org.streamfusion.cuda..").should().dependOnClassesThat(
                resideInAnyPackage("org.streamfusion.gpu..", "org.streamfusion", "org.streamfusion.backend..",
                        "org.streamfusion.spi..").and(not(assignableTo(StreamFusionException.class))))
                .check(CUDA);
    }

    @Test
    void theModuleCreatesNoUncheckedExceptionOutsideTheRoot() {
        DescribedPredicate<JavaConstructorCall> foreignUnchecked = DescribedPredicate.describe(
                "an unchecked exception that is not a StreamFusionException", call -> {
                    JavaClass created = call.getTargetOwner();
                    // the root's own super calls; javac's MatchException in an exhaustive switch (it cannot be reached)
                    boolean rootsSuper = call.getOriginOwner().isEquivalentTo(StreamFusionException.class);
                    // the extraction's I/O failure, which NativeLoader records as a failed attempt: it never leaves the loader
                    boolean loaderAttempt = created.isEquivalentTo(UncheckedIOException.class)
                            && call.getOriginOwner().getName().equals("org.streamfusion.cuda.loader.BundledLibrary");
                    return created.isAssignableTo(RuntimeException.class) && !created.isAssignableTo(StreamFusionException.class)
                            && !created.isEquivalentTo(MatchException.class) && !rootsSuper && !loaderAttempt;
                });
        noClasses().should().callConstructorWhere(foreignUnchecked)
                .because("a service catches every library failure as StreamFusionException").check(CUDA);
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
