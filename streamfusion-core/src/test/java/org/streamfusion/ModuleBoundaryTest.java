package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ResolvedModule;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The core's module descriptor says what is API: it requires no native module, a user module compiled
 * against the core alone reaches the exported packages and nothing else, and the backend contract is
 * exported only to the CUDA backend and the benchmarks. Runs where the tests are on the module path and a
 * {@code javac} is at hand (the Maven build); skipped elsewhere.
 */
class ModuleBoundaryTest {
    private static final String CORE = "org.streamfusion";
    /** The backend contract, for the library's own modules only. */
    private static final Set<String> SPI_READERS = Set.of("org.streamfusion.cuda", "org.streamfusion.bench");

    @Test
    void theCoreRequiresNoNativeModule() {
        for (ModuleDescriptor.Requires r : module(CORE).reference().descriptor().requires()) {
            assertTrue(r.name().startsWith("java.") || r.name().startsWith("jdk."),
                    CORE + " requires " + r.name() + ": the core is pure Java, only JDK modules");
        }
        assertTrue(module(CORE).reference().descriptor().requires().stream()
                .noneMatch(r -> r.name().startsWith("org.streamfusion")), CORE + " requires a library module");
    }

    @Test
    void theCoreExportsItsInsidesOnlyToTheLibrarysOwnModules() {
        for (ModuleDescriptor.Exports e : module(CORE).reference().descriptor().exports()) {
            if (e.source().equals("org.streamfusion.spi")) {
                assertEquals(SPI_READERS, e.targets(), "org.streamfusion.spi is exported to " + e.targets());
            } else {
                assertTrue(!e.isQualified(), e.source() + " is API, exported to everyone");
            }
        }
        assertTrue(module(CORE).reference().descriptor().exports().stream()
                .noneMatch(e -> e.source().equals("org.streamfusion.schedule")), "schedules are not exported");
    }

    @Test
    void aUserModuleCompilesAgainstTheCoreAlone(@TempDir Path dir) throws Exception {
        Result r = compileUserModule(dir, "import org.streamfusion.*;\nimport org.streamfusion.cpu.*;\n"
                + "import org.streamfusion.planning.*;\n",
                "Topology topology = Topology.of(2, 2);\n"
                + "AttentionShape shape = AttentionShape.of(1, 64, 8, 16);\n"
                + "Plan plan = Planner.withDefaults().best(shape, topology, Method.STREAMFUSION);\n"
                + "try (CpuWorld world = CpuWorld.create(topology)) { float[] q = new float[64 * 8 * 16];\n"
                + "  ShardedAttention.forward(world, plan, q, q, q); }\n");
        assertEquals(0, r.exitCode(), r.output());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"org.streamfusion.schedule.Schedules", "org.streamfusion.spi.Communicator",
        "org.streamfusion.spi.RankBackend", "org.streamfusion.spi.BackendBuffer", "org.streamfusion.spi.BackendStream",
        "org.streamfusion.spi.BackendEvent"})
    void aUserModuleCannotReachTheInsides(String type, @TempDir Path dir) throws Exception {
        String expected = "package " + type.substring(0, type.lastIndexOf('.')) + " is not visible";
        Result r = compileUserModule(dir, "", type + " inside = null;\n");
        assertTrue(r.exitCode() != 0 && r.output().contains(expected), "compiling a use of " + type + ":\n" + r.output());
    }

    @Test
    void aUserModuleCannotImplementTheSealedBackendTypes(@TempDir Path dir) throws Exception {
        Result r = compileUserModule(dir, "",
                "org.streamfusion.backend.Stream s = new org.streamfusion.backend.Stream() {\n"
                + "  public String name() { return \"mine\"; }\n"
                + "  public void record(org.streamfusion.backend.Event e, String step) {}\n"
                + "  public void waitFor(org.streamfusion.backend.Event e) {}\n"
                + "  public void synchronize(String step) {} };\n");
        assertTrue(r.exitCode() != 0 && r.output().contains("sealed"), r.output());
    }

    private record Result(int exitCode, String output) {
    }

    /** Compiles module {@code user.app}, with the core alone on its module path, around {@code body}. */
    private static Result compileUserModule(Path dir, String imports, String body) throws IOException,
            InterruptedException {
        Optional<Path> javac = Optional.of(Path.of(System.getProperty("java.home"), "bin", "javac"))
                .filter(Files::isExecutable);
        assumeTrue(javac.isPresent(), "no javac in this runtime (the GPU bundle's jlink image has none)");
        Path src = Files.createDirectories(dir.resolve("src/user/app"));
        Files.writeString(dir.resolve("src/module-info.java"), "module user.app { requires org.streamfusion; }\n");
        Files.writeString(src.resolve("App.java"), "package user.app;\n" + imports
                + "public class App { public static void run() throws Exception {\n" + body + "} }\n");
        String modulePath = Path.of(module(CORE).reference().location().orElseThrow()).toString();
        List<String> cmd = new ArrayList<>(List.of(javac.get().toString(), "-d", dir.resolve("out").toString(),
                "--module-path", modulePath, dir.resolve("src/module-info.java").toString(),
                src.resolve("App.java").toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "javac did not finish");
        return new Result(p.exitValue(), out);
    }

    private static ResolvedModule module(String name) {
        Optional<ResolvedModule> m = ModuleLayer.boot().configuration().findModule(name);
        assumeTrue(m.isPresent(), name + " is not on the module path (the tests run on the class path here)");
        return m.get();
    }
}
