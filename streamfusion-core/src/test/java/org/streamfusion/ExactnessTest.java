package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.streamfusion.cpu.CpuOptions;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cpu.ShardedAttention;

/**
 * The spec's central claim: every method on every valid mesh computes exactly single-device attention.
 * Topologies: the nine of the acceptance list plus 1x1, 1x2, 2x1, 1x3 and 3x1, so that every N in
 * {1, 2, 3, 4, 6, 8} is covered. For each topology: every method, every mesh the planner enumerates, B in {1,2}, H in {4,6,8,12,24},
 * D in {16,64}, S cycling through N, 2N and 3N; fresh random inputs each run; norm-wise relative error
 * against a float64 reference at most 1e-5. Invalid meshes must be reported with the rule they break,
 * and forcing one must throw that same error.
 */
class ExactnessTest {
    static final double TOLERANCE = 1e-5;
    static final int[] BATCHES = {1, 2};
    static final int[] HEADS = {4, 6, 8, 12, 24};
    static final int[] DIMS = {16, 64};

    @ParameterizedTest(name = "{0}x{1}")
    @CsvSource({"1,1", "1,2", "2,1", "1,3", "3,1", "1,4", "4,1", "2,2", "2,3", "3,2", "2,4", "4,2", "1,8", "8,1"})
    void everyMethodOnEveryValidMeshEqualsSingleDeviceAttention(int machines, int gpus) {
        Topology topo = Topology.of(machines, gpus);
        int n = topo.worldSize();
        Planner planner = Planner.withDefaults();
        List<String> failures = new ArrayList<>();
        Map<Method, int[]> counts = new EnumMap<>(Method.class); // valid runs, invalid meshes
        int combo = 0;
        // Alternate the fabric's put delivery and jitter so both the earliest and the latest legal
        // delivery of a put, and shuffled stream timing, are exercised.
        CpuOptions[] opts = {
            CpuOptions.defaults().withTimeout(Duration.ofSeconds(30)),
            CpuOptions.defaults().withTimeout(Duration.ofSeconds(30)).withDelivery(CpuOptions.PutDelivery.IMMEDIATE)
                    .withJitter(true, n)};
        CpuWorld[] worlds = {CpuWorld.create(topo, opts[0]), CpuWorld.create(topo, opts[1])};
        try {
            for (int b : BATCHES) {
                for (int h : HEADS) {
                    for (int d : DIMS) {
                        int s = n * (1 + combo % 3);
                        combo++;
                        AttentionShape shape = AttentionShape.of(b, s, h, d);
                        Inputs in = Inputs.fresh(shape);
                        double[] ref = ReferenceAttention.attention(in.q, in.k, in.v, b, s, h, d, shape.softmaxScale());
                        for (Planner.Candidate c : planner.enumerate(shape, topo)) {
                            int[] cnt = counts.computeIfAbsent(c.method(), m -> new int[2]);
                            if (!c.valid()) {
                                cnt[1]++;
                                assertInvalidWhenForced(shape, topo, c);
                                continue;
                            }
                            cnt[0]++;
                            CpuWorld w = worlds[(combo + cnt[0]) % 2];
                            float[] out = ShardedAttention.forward(w, c.plan(), in.q, in.k, in.v);
                            double err = ReferenceAttention.relativeError(out, ref);
                            if (!(err <= TOLERANCE)) {
                                failures.add(c.plan() + " error " + err + " (seed " + in.seed + ")");
                            }
                        }
                    }
                }
            }
        } finally {
            for (CpuWorld w : worlds) {
                w.close();
            }
        }
        System.out.println(topo + ": " + counts.entrySet().stream()
                .map(e -> e.getKey() + " " + e.getValue()[0] + " runs/" + e.getValue()[1] + " invalid").toList());
        if (!failures.isEmpty()) {
            fail(failures.size() + " inexact results on " + topo + ":\n" + String.join("\n", failures));
        }
        for (Method m : Method.values()) {
            assertTrue(counts.get(m)[0] > 0, m + " never ran on " + topo);
        }
    }

    private static void assertInvalidWhenForced(AttentionShape shape, Topology topo, Planner.Candidate c) {
        assertTrue(c.invalidReason() != null && c.invalidReason().contains("rule:"), c.invalidReason());
        try {
            Plan.of(shape, DeviceMesh.of(topo, c.method(), c.t(), c.u(), c.r()));
            fail("forcing " + c.method() + " " + c.degrees() + " on " + topo + " for " + shape + " did not throw");
        } catch (InvalidConfigurationException e) {
            assertEquals(c.invalidReason(), e.getMessage());
        }
    }
}
