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
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The module descriptors say what is API: a user module compiled against the library reaches the
 * exported packages and nothing else, and only the native layer reads the raw bindings. Runs where the
 * tests are on the module path and a {@code javac} is at hand (the Maven build); skipped elsewhere.
 */
class ModuleBoundaryTest {
    private static final String CORE = "org.streamfusion";
    private static final String NATIVE = "org.streamfusion.cuda";
    private static final String BINDINGS = "org.streamfusion.bindings";

    @Test
    void onlyTheNativeLayerReadsTheBindings() {
        ModuleDescriptor bindings = module(BINDINGS).reference().descriptor();
        for (ModuleDescriptor.Exports e : bindings.exports()) {
            assertEquals(Set.of(NATIVE), e.targets(), BINDINGS + " exports " + e.source() + " to " + e.targets());
        }
        for (ResolvedModule m : ModuleLayer.boot().configuration().modules()) {
            boolean reads = m.reference().descriptor().requires().stream().anyMatch(r -> r.name().equals(BINDINGS));
            assertTrue(!reads || m.name().equals(NATIVE), m.name() + " requires " + BINDINGS);
        }
    }

    @Test
    void theCoreExportsItsInsidesOnlyToTheBenchmarks() {
        for (ModuleDescriptor.Exports e : module(CORE).reference().descriptor().exports()) {
            if (e.source().equals("org.streamfusion.spi")) {
                assertEquals(Set.of("org.streamfusion.bench"), e.targets());
            } else {
                assertTrue(!e.isQualified(), e.source() + " is API, exported to everyone");
            }
        }
        assertTrue(module(CORE).reference().descriptor().exports().stream()
                .noneMatch(e -> e.source().equals("org.streamfusion.schedule")), "schedules are not exported");
    }

    @Test
    void aUserModuleCompilesAgainstThePublicApi(@TempDir Path dir) throws Exception {
        Result r = compileUserModule(dir, "import org.streamfusion.*;\nimport org.streamfusion.cpu.*;\n",
                "Topology topology = Topology.of(2, 2);\n"
                + "AttentionShape shape = AttentionShape.of(1, 64, 8, 16);\n"
                + "Plan plan = Planner.withDefaults().best(shape, topology, Method.STREAMFUSION);\n"
                + "try (CpuWorld world = CpuWorld.create(topology)) { float[] q = new float[64 * 8 * 16];\n"
                + "  ShardedAttention.forward(world, plan, q, q, q); }\n");
        assertEquals(0, r.exitCode(), r.output());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "org.streamfusion.schedule.Schedules | package org.streamfusion.schedule is not visible",
        "org.streamfusion.spi.Communicator | package org.streamfusion.spi is not visible",
        "org.streamfusion.spi.RankBackend | package org.streamfusion.spi is not visible",
        "org.streamfusion.bindings.cudart.Cudart | package org.streamfusion.bindings.cudart is not visible",
        "org.streamfusion.cuda.nccl.NcclCommunicator | package org.streamfusion.cuda.nccl is not visible",
        "org.streamfusion.cuda.internal.OutParameter | package org.streamfusion.cuda.internal is not visible"})
    void aUserModuleCannotReachTheInsides(String type, String expected, @TempDir Path dir) throws Exception {
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

    /** Compiles module {@code user.app} with one class whose {@code run()} holds {@code body}. */
    private static Result compileUserModule(Path dir, String imports, String body) throws IOException,
            InterruptedException {
        Optional<Path> javac = Optional.of(Path.of(System.getProperty("java.home"), "bin", "javac"))
                .filter(Files::isExecutable);
        assumeTrue(javac.isPresent(), "no javac in this runtime (the GPU bundle's jlink image has none)");
        Path src = Files.createDirectories(dir.resolve("src/user/app"));
        Files.writeString(dir.resolve("src/module-info.java"), "module user.app { requires org.streamfusion; }\n");
        Files.writeString(src.resolve("App.java"), "package user.app;\n" + imports
                + "public class App { public static void run() throws Exception {\n" + body + "} }\n");
        String modulePath = List.of(CORE, NATIVE, BINDINGS).stream().map(ModuleBoundaryTest::location)
                .collect(Collectors.joining(java.io.File.pathSeparator));
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

    private static String location(String name) {
        return Path.of(module(name).reference().location().orElseThrow()).toString();
    }
}
