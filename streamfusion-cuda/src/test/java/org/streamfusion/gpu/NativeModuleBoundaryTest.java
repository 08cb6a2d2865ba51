package org.streamfusion.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
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
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The CUDA module's descriptor: it is the only module that reads the raw bindings, it exports its
 * communication and kernel wrappers only to the benchmarks, and a user module compiled against it reaches
 * its API (the backend's entry points, the handles, the loader) and nothing else. Runs where the tests are
 * on the module path and a {@code javac} is at hand (the Maven build); skipped elsewhere.
 */
class NativeModuleBoundaryTest {
    private static final String CORE = "org.streamfusion";
    private static final String CUDA = "org.streamfusion.cuda";
    private static final String BINDINGS = "org.streamfusion.bindings";
    private static final Set<String> API = Set.of("org.streamfusion.gpu", "org.streamfusion.cuda",
            "org.streamfusion.cuda.loader");

    @Test
    void onlyTheCudaModuleReadsTheBindings() {
        ModuleDescriptor bindings = module(BINDINGS).reference().descriptor();
        for (ModuleDescriptor.Exports e : bindings.exports()) {
            assertEquals(Set.of(CUDA), e.targets(), BINDINGS + " exports " + e.source() + " to " + e.targets());
        }
        for (ResolvedModule m : ModuleLayer.boot().configuration().modules()) {
            boolean reads = m.reference().descriptor().requires().stream().anyMatch(r -> r.name().equals(BINDINGS));
            assertTrue(!reads || m.name().equals(CUDA), m.name() + " requires " + BINDINGS);
        }
    }

    @Test
    void theCudaModuleExportsItsInsidesOnlyToTheBenchmarks() {
        for (ModuleDescriptor.Exports e : module(CUDA).reference().descriptor().exports()) {
            if (API.contains(e.source())) {
                assertTrue(!e.isQualified(), e.source() + " is API, exported to everyone");
            } else {
                assertEquals(Set.of("org.streamfusion.bench"), e.targets(), e.source() + " is exported to " + e.targets());
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"org.streamfusion.bindings.cudart.Cudart", "org.streamfusion.cuda.nccl.NcclCommunicator",
        "org.streamfusion.cuda.nvshmem.NvshmemRuntime", "org.streamfusion.cuda.sf.SfKernels",
        "org.streamfusion.cuda.internal.OutParameter", "org.streamfusion.spi.RankBackend"})
    void aUserModuleCannotReachTheInsides(String type, @TempDir Path dir) throws Exception {
        String expected = "package " + type.substring(0, type.lastIndexOf('.')) + " is not visible";
        Result r = compileUserModule(dir, type + " inside = null;\n");
        assertTrue(r.exitCode() != 0 && r.output().contains(expected), "compiling a use of " + type + ":\n" + r.output());
    }

    @Test
    void aUserModuleReachesTheCudaBackendsEntryPoints(@TempDir Path dir) throws Exception {
        Result r = compileUserModule(dir, "org.streamfusion.gpu.GpuOptions options = org.streamfusion.gpu.GpuOptions.defaults();\n"
                + "Class<?> device = org.streamfusion.gpu.CudaRankDevice.class;\n"
                + "org.streamfusion.Topology topology = org.streamfusion.Topology.of(1, 2);\n");
        assertEquals(0, r.exitCode(), r.output());
    }

    private record Result(int exitCode, String output) {
    }

    /** Compiles module {@code user.app} (requires the CUDA module) with one class whose {@code run()} holds {@code body}. */
    private static Result compileUserModule(Path dir, String body) throws IOException, InterruptedException {
        Optional<Path> javac = Optional.of(Path.of(System.getProperty("java.home"), "bin", "javac"))
                .filter(Files::isExecutable);
        assumeTrue(javac.isPresent(), "no javac in this runtime (the GPU bundle's jlink image has none)");
        Path src = Files.createDirectories(dir.resolve("src/user/app"));
        Files.writeString(dir.resolve("src/module-info.java"), "module user.app { requires " + CUDA + "; }\n");
        Files.writeString(src.resolve("App.java"), "package user.app;\n"
                + "public class App { public static void run() throws Exception {\n" + body + "} }\n");
        String modulePath = List.of(CORE, CUDA, BINDINGS).stream().map(NativeModuleBoundaryTest::location)
                .collect(Collectors.joining(File.pathSeparator));
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
