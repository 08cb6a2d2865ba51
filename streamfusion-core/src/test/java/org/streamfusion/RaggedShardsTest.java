package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.streamfusion.cpu.CpuOptions;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cpu.ShardedAttention;
import org.streamfusion.planning.Planner;

/**
 * Any sequence length (docs/algorithms.md, section 3.6): on every method and valid mesh of the topologies
 * of {@link ExactnessTest}, S not divisible by N (S = N, N + 1, 2N + 1 and 3N - 1, so that one row more on
 * the first ranks, one row on each and every remainder but 0 occur), and shard lengths the caller chose at
 * random (from one row up), equal single-device float64 attention to 1e-5.
 */
class RaggedShardsTest {
    static Stream<Arguments> meshes() {
        List<Arguments> cases = new ArrayList<>();
        for (int[] mg : ExactnessTest.TOPOLOGIES) {
            Topology topology = Topology.of(mg[0], mg[1]);
            if (topology.worldSize() == 1) {
                continue; // one GPU: every S divides
            }
            AttentionShape any = AttentionShape.of(1, topology.worldSize(), 24, 16);
            for (Planner.Candidate c : Planner.withDefaults().enumerate(any, topology)) {
                if (c.valid()) {
                    cases.add(Arguments.of(topology, c.method(), c.t(), c.u(), c.r()));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1} t={2} u''={3} r={4}")
    @MethodSource("meshes")
    void unevenAndCallerChosenShardsEqualSingleDeviceAttention(Topology topology, Method method, int t, int u, int r) {
        int n = topology.worldSize();
        List<String> failures = new ArrayList<>();
        SplittableRandom rnd = new SplittableRandom(System.nanoTime());
        CpuOptions options = CpuOptions.defaults().withTimeout(Duration.ofSeconds(30)).withJitter(true, n);
        try (CpuWorld world = CpuWorld.create(topology, options)) {
            for (int s : new int[] {n, n + 1, 2 * n + 1, 3 * n - 1}) {
                AttentionShape shape = AttentionShape.of(2, s, 24, 16);
                Plan even = Plan.of(shape, DeviceMesh.of(topology, method, t, u, r));
                Plan chosen = even.withShardRows(randomSplit(rnd, s, n));
                for (Plan plan : List.of(even, chosen)) {
                    Inputs in = Inputs.fresh(shape);
                    double[] ref = ReferenceAttention.attention(in.q, in.k, in.v, shape.batch(), s, shape.heads(),
                            shape.headDim(), shape.softmaxScale());
                    double err = ReferenceAttention.relativeError(ShardedAttention.forward(world, plan, in.q, in.k, in.v),
                            ref);
                    if (!(err <= ExactnessTest.TOLERANCE)) {
                        failures.add(plan + " (seed " + in.seed + "): error " + err);
                    }
                }
            }
        }
        if (!failures.isEmpty()) {
            fail(String.join("\n", failures));
        }
    }

    /** {@code n} positive lengths summing to {@code s}, skewed: some ranks hold one row, one may hold most. */
    static int[] randomSplit(SplittableRandom rnd, int s, int n) {
        int[] rows = new int[n];
        java.util.Arrays.fill(rows, 1);
        for (int left = s - n; left > 0; left--) {
            rows[rnd.nextInt(rnd.nextBoolean() ? 1 : n)]++;
        }
        return rows;
    }

    @ParameterizedTest(name = "S={0} on 3 ranks")
    @ValueSource(ints = {3, 4, 5, 7, 8})
    void theDefaultSplitGivesTheFirstSModNRanksOneRowMoreAndShardsTileTheSequence(int s) {
        Plan plan = Plan.of(AttentionShape.of(1, s, 6, 16), DeviceMesh.of(Topology.of(1, 3), Method.RING, 1, 1, 3));
        int start = 0;
        for (int g = 0; g < 3; g++) {
            assertEquals(s / 3 + (g < s % 3 ? 1 : 0), plan.shardRows(g), "rank " + g);
            assertEquals(start, plan.shardStart(g), "rank " + g);
            start += plan.shardRows(g);
        }
        assertEquals(s, start);
        assertEquals((s + 2) / 3, plan.localSeqLen(), "chunks travel padded to the longest shard");
        assertTrue(plan.withShardRows(1, 1, s - 2).localSeqLen() == s - 2 || s < 3);
    }
}
