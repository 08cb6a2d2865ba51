package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.streamfusion.cuda.CudaRuntime;

/**
 * Every mesh on one GPU (docs/one-gpu-world.md): the checks of the multi-process job run as the ranks of an
 * in-process world, each rank's output against float64 attention.
 */
@Tag("gpu")
class OneGpuWorldGpuTest {
    private static Launcher.Result launch(int nproc, String... command) {
        assumeTrue(CudaRuntime.isAvailable(), "no GPU");
        List<String> argv = new ArrayList<>(List.of("--nproc", String.valueOf(nproc)));
        argv.addAll(List.of(command));
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Launcher.Result r = OneGpuLauncher.run(Launcher.Options.parse(argv), new PrintStream(buf, true,
                StandardCharsets.UTF_8), Duration.ofMinutes(8));
        String console = buf.toString(StandardCharsets.UTF_8);
        System.out.println(console);
        return new Launcher.Result(r.exitCode(), r.failedRank(), r.failure() + "\n" + console);
    }

    private static void assertEveryRankPassed(int n, Launcher.Result r) {
        assertEquals(0, r.exitCode(), r.failure());
        for (int rank = 0; rank < n; rank++) {
            assertTrue(r.failure().contains("[rank " + rank + "] PASS rank " + rank), "rank " + rank + ": " + r.failure());
        }
    }

    static Stream<Arguments> topologiesAndTypes() {
        List<Arguments> cases = new ArrayList<>();
        for (String t : List.of("1x2", "2x1", "2x2", "1x4", "4x1", "2x4")) {
            for (String dtype : List.of("BF16", "F16")) {
                cases.add(Arguments.of(t, dtype));
            }
        }
        return cases.stream();
    }

    /** S = N*256+1: the shards are ragged; between machines each plan also runs with FP8 (its own bound). */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("topologiesAndTypes")
    void everyMethodOnEveryMeshOfTheTopologyMatchesFloat64OnOneGpu(String topology, String dtype) {
        String[] mg = topology.split("x");
        int n = Integer.parseInt(mg[0]) * Integer.parseInt(mg[1]);
        boolean crossesMachines = !mg[0].equals("1");
        List<String> cmd = new ArrayList<>(List.of("check", "attention", "--topology", topology, "-S",
                String.valueOf(256 * n + 1), "-H", "8", "-D", "64", "--reps", "1", "--dtype", dtype));
        if (crossesMachines) {
            cmd.addAll(List.of("--compression", "both"));
        }
        assertEveryRankPassed(n, launch(n, cmd.toArray(String[]::new)));
    }

    @ParameterizedTest(name = "{0} ranks")
    @ValueSource(ints = {2, 4})
    void jointTextAndImageAttentionMatchesFloat64OnEveryMethodOnOneGpu(int n) {
        assertEveryRankPassed(n, launch(n, "check", "joint", "-S", String.valueOf(1024 * n + 1), "--text", "300", "-H", "8",
                "-D", "128"));
    }

    @Test
    void everyPrimitiveMovesExactBytesBetweenTheRanksOfAWorld() {
        assertEveryRankPassed(4, launch(4, "check", "communicator"));
    }

    @Test
    void aLayerRunsOnTheCallersMemoryAndStreamOnEveryRankOfAWorld() {
        assertEveryRankPassed(2, launch(2, "check", "caller-tensors", "-S", "2048", "-H", "8", "-D", "128", "--dtype",
                "BF16"));
    }

    @Test
    void groupedAndSeparateQkvExchangesGiveBitIdenticalLayersOnAWorld() {
        assertEveryRankPassed(2, launch(2, "check", "qkv-exchange", "--topology", "1x2", "-S", "2049", "-H", "8", "-D",
                "128", "--reps", "1"));
    }

    /**
     * The world's captured layer is one CUDA graph for every rank: on 2x2, every valid plan's replay is a graph
     * ({@code replayMode() == GRAPH}) and gives each rank's eager output bit for bit ({@code check graphs} on a world;
     * its caller's own graph around forward is skipped there, with the reason printed).
     */
    @Test
    void everyMethodsLayerCapturedOnATwoByTwoWorldReplaysBitIdenticalToItsEagerLayer() {
        Launcher.Result r = launch(4, "check", "graphs", "--topology", "2x2", "-S", "1025", "-H", "8", "-D", "64",
                "--reps", "2", "--replays", "0");
        assertEveryRankPassed(4, r);
        assertTrue(!r.failure().contains(" EAGER "), "every plan replays as a graph: " + r.failure());
    }
}
