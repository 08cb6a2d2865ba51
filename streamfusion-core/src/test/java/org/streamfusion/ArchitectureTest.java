package org.streamfusion;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.streamfusion.schedule.Schedules;

/**
 * The core's package structure, read from its compiled classes (ArchUnit): no package cycles, the API names
 * no backend, the backends' own types stay inside their packages, and no main source file of the library
 * grows past 350 lines. A new violation fails here with the offending dependency or file.
 */
class ArchitectureTest {
    /** The API: the nouns a caller holds. Its two packages name each other's types, so they are one layer. */
    private static final Set<String> API = Set.of("org.streamfusion", "org.streamfusion.backend");
    private static final String[] BACKENDS = {"org.streamfusion.cpu..", "org.streamfusion.sim..",
        "org.streamfusion.gpu..", "org.streamfusion.cuda.."};
    private static final JavaClasses CORE = importClasses();

    @Test
    void noPackageCyclesWithTheApiAsOneLayer() {
        SliceAssignment packages = new SliceAssignment() {
            @Override
            public SliceIdentifier getIdentifierOf(JavaClass c) {
                return SliceIdentifier.of(API.contains(c.getPackageName()) ? "the API" : c.getPackageName());
            }

            @Override
            public String getDescription() {
                return "each package, the API's two as one";
            }
        };
        // The one way from the API into the schedules: DistributedAttention.create, as Arena.ofConfined()
        // reaches jdk.internal.foreign. The sealed types' permits name their internal bases, which ArchUnit
        // does not count as a dependency (as in java.lang.foreign).
        slices().assignedFrom(packages).should().beFreeOfCycles()
                .ignoreDependency(DistributedAttention.class, Schedules.class).check(CORE);
    }

    @Test
    void theApiNamesNoBackend() {
        noClasses().that().resideInAnyPackage("org.streamfusion", "org.streamfusion.backend")
                .should().dependOnClassesThat().resideInAnyPackage(BACKENDS).check(CORE);
    }

    /** The planner ranks by simulated time, so it names the simulator; the simulator names no planner (one way). */
    @Test
    void thePlannerNamesNoBackendButTheSimulatorAndTheSimulatorNoPlanner() {
        noClasses().that().resideInAPackage("org.streamfusion.planning").should().dependOnClassesThat()
                .resideInAnyPackage("org.streamfusion.cpu..", "org.streamfusion.gpu..", "org.streamfusion.cuda..")
                .check(CORE);
        noClasses().that().resideInAPackage("org.streamfusion.sim").should().dependOnClassesThat()
                .resideInAPackage("org.streamfusion.planning").check(CORE);
    }

    /** Public only where a caller holds one: the CPU backend's host buffer, which it fills and reads. */
    @Test
    void theBackendsStreamsEventsAndSimulatedBuffersArePackagePrivate() {
        noClasses().that().resideInAnyPackage("org.streamfusion.cpu", "org.streamfusion.sim")
                .and().haveNameMatching(".*\\.(Cpu(Stream|Event)|Sim(Buffer|Stream|Event))").should().bePublic().check(CORE);
    }

    @Test
    void noMainSourceFileIsLongerThan350Lines() throws IOException {
        // Maven runs the tests in the module's folder; the GPU bundle carries no sources.
        Path root = Path.of("").toAbsolutePath().getParent();
        assumeTrue(root != null && Files.isDirectory(root.resolve("streamfusion-core/src/main/java")),
                "no source tree above " + Path.of("").toAbsolutePath());
        try (Stream<Path> files = Files.walk(root)) {
            List<String> over = files.filter(p -> p.toString().endsWith(".java")
                    && p.toString().contains("/src/main/java/") && !p.toString().contains("/bindings/")
                    && !p.toString().contains("/target/")).filter(p -> lines(p) > 350)
                    .map(p -> root.relativize(p) + " (" + lines(p) + " lines)").sorted().toList();
            assertEquals(List.of(), over, "main source files over 350 lines");
        }
    }

    private static long lines(Path p) {
        try (Stream<String> l = Files.lines(p)) {
            return l.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The core's classes: its classes folder under Maven, its jar in the GPU bundle. */
    private static JavaClasses importClasses() {
        try {
            Path location = Path.of(Plan.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            ClassFileImporter importer = new ClassFileImporter();
            if (Files.isDirectory(location)) {
                return importer.importPath(location);
            }
            try (JarFile jar = new JarFile(location.toFile())) {
                return importer.importJar(jar);
            }
        } catch (URISyntaxException | IOException e) {
            throw new IllegalStateException("cannot read the core's classes", e);
        }
    }
}
