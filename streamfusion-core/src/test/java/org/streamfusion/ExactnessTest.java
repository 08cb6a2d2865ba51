package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.streamfusion.cpu.CpuOptions;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cpu.ShardedAttention;
import org.streamfusion.planning.Planner;

/**
 * The central claim (docs/algorithms.md, section 1): every method on every valid mesh computes exactly
 * single-device attention. One case per (topology, method, mesh), so that a failure names them.
 * Topologies: 1x1, 1x2, 2x1, 1x3, 3x1, 1x4, 4x1, 2x2, 2x3, 3x2, 2x4, 4x2, 1x8 and 8x1, so that every N in
 * {1, 2, 3, 4, 6, 8} is covered. Each case runs its mesh over B in {1,2}, H in {4,6,8,12,24}, D in {16,64},
 * S cycling through N, 2N and 3N, on fresh random inputs, and requires a norm-wise relative error against
 * a float64 reference of at most 1e-5. Where the mesh is invalid for a shape, forcing it must throw the
 * error the planner reports for it, rule included.
 */
class ExactnessTest {
    static final double TOLERANCE = 1e-5;
    static final int[] BATCHES = {1, 2};
    static final int[] HEADS = {4, 6, 8, 12, 24};
    static final int[] DIMS = {16, 64};
    static final int[][] TOPOLOGIES = {{1, 1}, {1, 2}, {2, 1}, {1, 3}, {3, 1}, {1, 4}, {4, 1}, {2, 2}, {2, 3}, {3, 2},
        {2, 4}, {4, 2}, {1, 8}, {8, 1}};

    /** Every (topology, method, t, u', r) the planner enumerates. */
    static Stream<Arguments> meshes() {
        List<Arguments> cases = new ArrayList<>();
        for (int[] mg : TOPOLOGIES) {
            Topology topology = Topology.of(mg[0], mg[1]);
            AttentionShape any = AttentionShape.of(1, topology.worldSize(), 24, 16);
            for (Planner.Candidate c : Planner.withDefaults().enumerate(any, topology)) {
                cases.add(Arguments.of(topology, c.method(), c.t(), c.u(), c.r()));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1} t={2} u''={3} r={4}")
    @MethodSource("meshes")
    void everyValidShapeOnThisMeshEqualsSingleDeviceAttention(Topology topology, Method method, int t, int u, int r) {
        int n = topology.worldSize();
        // Alternate the fabric's put delivery and jitter so both the earliest and the latest legal delivery
        // of a put, and shuffled stream timing, are exercised.
        CpuOptions[] options = {
            CpuOptions.defaults().withTimeout(Duration.ofSeconds(30)),
            CpuOptions.defaults().withTimeout(Duration.ofSeconds(30)).withDelivery(CpuOptions.PutDelivery.IMMEDIATE)
                    .withJitter(true, n)};
        List<String> failures = new ArrayList<>();
        int valid = 0;
        int combo = 0;
        try (CpuWorld latest = CpuWorld.create(topology, options[0]);
                CpuWorld immediate = CpuWorld.create(topology, options[1])) {
            for (int b : BATCHES) {
                for (int h : HEADS) {
                    for (int d : DIMS) {
                        int s = n * (1 + combo % 3);
                        combo++;
                        AttentionShape shape = AttentionShape.of(b, s, h, d);
                        Plan plan; // built as the planner builds it, without ranking every mesh by simulation
                        try {
                            plan = Plan.of(shape, DeviceMesh.of(topology, method, t, u, r));
                        } catch (InvalidConfigurationException e) {
                            assertTrue(e.getMessage().contains("rule:"), e.getMessage());
                            continue;
                        }
                        valid++;
                        Inputs in = Inputs.fresh(shape);
                        double[] ref = ReferenceAttention.attention(in.q, in.k, in.v, b, s, h, d, shape.softmaxScale());
                        float[] out = ShardedAttention.forward(valid % 2 == 0 ? latest : immediate, plan, in.q,
                                in.k, in.v);
                        double err = ReferenceAttention.relativeError(out, ref);
                        if (!(err <= TOLERANCE)) {
                            failures.add(shape + ": error " + err + " (seed " + in.seed + ")");
                        }
                    }
                }
            }
        }
        if (!failures.isEmpty()) {
            fail(method + " t=" + t + " u'=" + u + " r=" + r + " on " + topology + " is inexact for " + failures.size()
                    + " of " + valid + " shapes:\n" + String.join("\n", failures));
        }
    }
}
