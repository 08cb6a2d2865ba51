package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.gpu.GpuOptions;

/**
 * The schedules on real GPUs, one process per GPU through the launcher: every valid mesh of every
 * method, bf16, checked on every rank against float64 attention (GpuCheck). Also the all-to-all from
 * Java over NCCL and NVSHMEM, checked for exact bytes.
 */
@Tag("gpu")
class GpuAttentionTest {
    private static int gpus() {
        assumeTrue(CudaRuntime.isAvailable(), () -> "no GPU: " + CudaRuntime.unavailabilityCause().map(Throwable::getMessage).orElse(""));
        int n = Math.min(CudaRuntime.deviceCount(), 4);
        assumeTrue(n >= 2, "needs 2 GPUs, has " + n);
        return n;
    }

    private static Launcher.Result launch(int nproc, String... command) {
        return launch(nproc, null, command);
    }

    /** {@code mover} null: the defaults; else both ScatterPush and GatherPull use it. */
    private static Launcher.Result launch(int nproc, GpuOptions.OneSidedMover mover, String... command) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        List<String> argv = new java.util.ArrayList<>(List.of("--nproc", String.valueOf(nproc), "--jvm-arg",
                "--enable-native-access=ALL-UNNAMED"));
        if (mover != null) {
            argv.addAll(List.of("--jvm-arg", "-Dstreamfusion.push=" + mover, "--jvm-arg", "-Dstreamfusion.pull=" + mover));
        }
        argv.addAll(List.of(command));
        Launcher.Result r = Launcher.run(Launcher.Options.parse(argv), new PrintStream(buf, true, StandardCharsets.UTF_8));
        String console = buf.toString(StandardCharsets.UTF_8);
        System.out.println(console);
        return new Launcher.Result(r.exitCode(), r.failedRank(), r.failure() + "\n" + console);
    }

    @Test
    void everyMethodOnEveryMeshMatchesFloat64AttentionOnEveryGpu() {
        int n = gpus();
        String topo = n == 4 ? "2x2" : "2x1";
        Launcher.Result r = launch(n, "check", "attention", "--topology", topo, "-S", String.valueOf(512 * n), "-H", "8", "-D",
                "64", "--reps", "3");
        assertEquals(0, r.exitCode(), r.failure());
        for (int rank = 0; rank < n; rank++) {
            assertTrue(r.failure().contains("[rank " + rank + "] PASS rank " + rank), r.failure());
        }
    }

    /** S not divisible by N (docs/algorithms.md, section 3.6): every method on every mesh, against float64. */
    @Test
    void aSequenceNotDivisibleByTheGpuCountMatchesFloat64AttentionOnEveryMesh() {
        int n = gpus();
        String topo = n == 4 ? "2x2" : "2x1";
        Launcher.Result r = launch(n, "check", "attention", "--topology", topo, "-S", String.valueOf(2048 * n + 1), "-H", "8",
                "-D", "64", "--reps", "3");
        assertEquals(0, r.exitCode(), r.failure());
        for (int rank = 0; rank < n; rank++) {
            assertTrue(r.failure().contains("[rank " + rank + "] PASS rank " + rank), r.failure());
        }
    }

    /** Joint text+image attention with per-batch text lengths, on one GPU or two (docs/algorithms.md, section 3.7). */
    @Test
    void jointTextAndImageAttentionMatchesFloat64OnEveryMethod() {
        assumeTrue(CudaRuntime.isAvailable(), "no GPU");
        int n = Math.min(CudaRuntime.deviceCount(), 2);
        Launcher.Result r = launch(n, "check", "joint", "-S", String.valueOf(2048 * n + 1), "--text", "512", "-H", "8", "-D",
                "128");
        assertEquals(0, r.exitCode(), r.failure());
        for (int rank = 0; rank < n; rank++) {
            assertTrue(r.failure().contains("[rank " + rank + "] PASS rank " + rank), r.failure());
        }
    }

    /** The caller's memory and stream on one GPU or two; every misuse refused (docs/embedding.md). */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"BF16", "F16"})
    void aLayerRunsOnTheCallersMemoryAndStreamAndMisuseIsRefused(String dtype) {
        assumeTrue(CudaRuntime.isAvailable(), "no GPU");
        int n = Math.min(CudaRuntime.deviceCount(), 2);
        Launcher.Result r = launch(n, "check", "caller-tensors", "-S", String.valueOf(1024 * n), "-H", "8", "-D", "128",
                "--dtype", dtype);
        assertEquals(0, r.exitCode(), r.failure());
        for (int rank = 0; rank < n; rank++) {
            assertTrue(r.failure().contains("[rank " + rank + "] PASS rank " + rank), r.failure());
        }
    }

    /**
     * CUDA Graphs (docs/graphs.md): every method on every mesh of 1xN captured and replayed bit-identically to
     * its eager layer, a caller's own graph around forward too, and 5,000 replays and eager layers leave device
     * memory, the JVM's native memory and its thread count flat. S is ragged.
     */
    @Test
    void capturedLayersReplayBitIdenticallyToEagerOnEveryMethodAndMesh() {
        assumeTrue(CudaRuntime.isAvailable(), "no GPU");
        int n = Math.min(CudaRuntime.deviceCount(), 2);
        // Resident memory is not judged here (the JIT still grows its arenas in a young test JVM); the graphs
        // stage of gpu-session.sh judges it over 10,000 layers with a pre-touched heap.
        Launcher.Result r = launch(n, "check", "graphs", "--topology", "1x" + n, "-S", String.valueOf(1024 * n + 1), "-H", "8",
                "-D", "128", "--reps", "3", "--replays", "5000");
        assertEquals(0, r.exitCode(), r.failure());
        for (int rank = 0; rank < n; rank++) {
            assertTrue(r.failure().contains("[rank " + rank + "] PASS rank " + rank), r.failure());
        }
    }

    /**
     * Q, K and V in one grouped exchange give the output of three separate ones bit for bit, on every mesh with a
     * two-sided Ulysses step of one GPU or two (docs/graphs.md, "Grouped Q, K, V exchange"). S is ragged.
     */
    @Test
    void groupedAndSeparateQkvExchangesGiveBitIdenticalLayersOnEveryMeshThatHasOne() {
        assumeTrue(CudaRuntime.isAvailable(), "no GPU");
        int n = Math.min(CudaRuntime.deviceCount(), 2);
        Launcher.Result r = launch(n, "check", "qkv-exchange", "--topology", "1x" + n, "-S", String.valueOf(1024 * n + 1), "-H",
                "8", "-D", "128", "--reps", "3");
        assertEquals(0, r.exitCode(), r.failure());
        for (int rank = 0; rank < n; rank++) {
            assertTrue(r.failure().contains("[rank " + rank + "] PASS rank " + rank), r.failure());
        }
        assertTrue(r.failure().contains("TORUS_TWO_SIDED"), "at least one plan compared: " + r.failure());
    }

    /**
     * Each method's floor from one GPU (docs/graphs.md, "Floors"): rank 0 of every valid mesh of a logical 1x2
     * runs its schedule with the transfers removed, and every one is timed.
     */
    @Test
    void everyMethodsKernelsAloneRunAndAreTimedOnOneGpu() {
        assumeTrue(CudaRuntime.isAvailable(), "no GPU");
        Launcher.Result r = launch(1, "check", "kernel-floor", "--topology", "1x2", "-S", "2049", "-H", "8", "-D", "128",
                "--reps", "3");
        assertEquals(0, r.exitCode(), r.failure());
        assertTrue(r.failure().contains("[rank 0] PASS rank 0"), r.failure());
        for (String method : new String[] {"ULYSSES", "RING", "USP", "TAS", "TORUS_TWO_SIDED", "STREAMFUSION"}) {
            assertTrue(r.failure().contains("[rank 0] " + method + "("), method + " timed: " + r.failure());
        }
    }

    /** e4m3 between the two logical machines: within GpuCheck.FP8_TOLERANCE of float64 on every mesh that carries it. */
    @Test
    void fp8BetweenMachinesStaysWithinItsToleranceOnEveryMeshThatCarriesIt() {
        int n = gpus();
        String topo = n == 4 ? "2x2" : "2x1";
        Launcher.Result r = launch(n, "check", "attention", "--topology", topo, "-S", String.valueOf(512 * n), "-H", "8", "-D",
                "64", "--reps", "3", "--compression", "fp8");
        assertEquals(0, r.exitCode(), r.failure());
        for (int rank = 0; rank < n; rank++) {
            assertTrue(r.failure().contains("[rank " + rank + "] PASS rank " + rank), r.failure());
        }
        assertTrue(r.failure().contains("+fp8"), r.failure());
    }

    @ParameterizedTest
    @EnumSource(GpuOptions.OneSidedMover.class)
    void ringSendRecvGatherPullTeamsOfTwoAndBarrierAllMoveExactBytesAcrossProcesses(GpuOptions.OneSidedMover mover) {
        int n = gpus();
        Launcher.Result r = launch(n, mover, "check", "communicator");
        assertEquals(0, r.exitCode(), r.failure());
        for (int rank = 0; rank < n; rank++) {
            assertTrue(r.failure().contains("[rank " + rank + "] PASS rank " + rank), r.failure());
        }
    }

    @ParameterizedTest
    @EnumSource(GpuOptions.OneSidedMover.class)
    void ncclAndNvshmemAllToAllDeliverExactlyTheSentBytes(GpuOptions.OneSidedMover mover) {
        int n = gpus();
        Launcher.Result r = launch(n, mover, "check", "all-to-all", "--mib", "4", "--reps", "3", "--jit-warmup",
                "5");
        assertEquals(0, r.exitCode(), r.failure());
        assertTrue(r.failure().contains("NVSHMEM put (" + mover + ")"), r.failure());
        for (int rank = 0; rank < n; rank++) {
            assertTrue(r.failure().contains("PASS rank " + rank), r.failure());
        }
    }
}
