package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cpu.ShardedAttention;
import org.streamfusion.planning.Planner;

/**
 * Issue 10, silent wrong numbers: the CPU reference agrees with single-pass float64 attention whatever the
 * logits' magnitude, on every method and mesh of a 2x2 world (the methods that fold several KV chunks carry
 * the state between launches), and NaN or Inf in Q or K gives the NaN rows float64 attention gives.
 */
class ExtremeValuesTest {
    static final double TOLERANCE = 1e-5;
    static final Topology TOPOLOGY = Topology.of(2, 2);
    static final AttentionShape SHAPE = AttentionShape.of(1, 8, 4, 128);

    /** Fully masked rows are all zeros on both sides: an exact match, not 0/0. */
    @Test
    void theRelativeErrorOfZerosAgainstZerosIsZeroAndOfAnythingElseAgainstZerosInfinite() {
        assertEquals(0.0, ReferenceAttention.relativeError(new float[4], new double[4]));
        assertEquals(0.0, ReferenceAttention.relativeError(new float[0], new double[0]));
        assertEquals(Double.POSITIVE_INFINITY, ReferenceAttention.relativeError(new float[] {0, 1e-3f}, new double[2]));
        assertEquals(Double.POSITIVE_INFINITY, ReferenceAttention.relativeError(new float[] {Float.NaN}, new double[1]));
        assertEquals(0.5, ReferenceAttention.relativeError(new float[] {3, 0}, new double[] {2, 0}));
    }

    static Stream<Arguments> meshesAndLogits() {
        List<Arguments> cases = new ArrayList<>();
        for (double c : new double[] {30, 100, 1000, 1e4}) {
            for (Planner.Candidate m : Planner.withDefaults().enumerate(SHAPE, TOPOLOGY)) {
                if (m.valid()) {
                    cases.add(Arguments.of(c, m.method(), m.t(), m.u(), m.r()));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "c={0} {1} t={2} u''={3} r={4}")
    @MethodSource("meshesAndLogits")
    void equalLargeLogitsAgreeWithSinglePassFloat64Attention(double c, Method method, int t, int u, int r) {
        float[] q = filled((float) c);
        float[] k = filled((float) c);
        float[] v = gaussian(7);
        float[] out = run(method, t, u, r, q, k, v);
        double[] ref = reference(q, k, v);
        double error = ReferenceAttention.relativeError(out, ref);
        assertTrue(error <= TOLERANCE, "every q and k element equal to c=" + c + ", " + method + " (" + t + ", " + u
                + ", " + r + "): norm-wise error " + error + " > " + TOLERANCE);
    }

    static Stream<Arguments> meshesAndSpecialValues() {
        List<Arguments> cases = new ArrayList<>();
        for (String special : new String[] {"NaN in K", "+Inf in K", "NaN in Q", "+Inf in Q", "-Inf in Q"}) {
            for (Planner.Candidate m : Planner.withDefaults().enumerate(SHAPE, TOPOLOGY)) {
                if (m.valid()) {
                    cases.add(Arguments.of(special, m.method(), m.t(), m.u(), m.r()));
                }
            }
        }
        return cases.stream();
    }

    /** One special value at token 5, head 1, element 3: NaN rows exactly where float64 attention has them. */
    @ParameterizedTest(name = "{0} {1} t={2} u''={3} r={4}")
    @MethodSource("meshesAndSpecialValues")
    void nanAndInfInQOrKGiveTheNanRowsOfFloat64Attention(String special, Method method, int t, int u, int r) {
        float[] q = gaussian(1);
        float[] k = gaussian(2);
        float[] v = gaussian(3);
        float value = special.startsWith("NaN") ? Float.NaN : special.startsWith("+") ? Float.POSITIVE_INFINITY
                : Float.NEGATIVE_INFINITY;
        int at = (5 * SHAPE.heads() + 1) * SHAPE.headDim() + 3;
        (special.endsWith("K") ? k : q)[at] = value;
        float[] out = run(method, t, u, r, q, k, v);
        double[] ref = reference(q, k, v);
        int nanRows = 0;
        for (int row = 0; row < ref.length / SHAPE.headDim(); row++) {
            int from = row * SHAPE.headDim();
            boolean refNan = Double.isNaN(ref[from]);
            nanRows += refNan ? 1 : 0;
            for (int x = from; x < from + SHAPE.headDim(); x++) {
                assertEquals(refNan, Float.isNaN(out[x]), special + ", " + method + ": row " + row + " (token "
                        + row / SHAPE.heads() + ", head " + row % SHAPE.heads() + ") is " + (refNan ? "" : "not ")
                        + "NaN in float64 attention but element " + x + " is " + out[x]);
                if (!refNan) {
                    assertEquals(ref[x], out[x], 1e-4 * (1 + Math.abs(ref[x])), special + ", " + method + ": element " + x);
                }
            }
        }
        assertTrue(nanRows > 0, special + ": the case must produce NaN rows in float64 attention");
    }

    /** Docs/algorithms.md, section 2: a row whose every score is -inf has no probability mass; its output is 0. */
    @ParameterizedTest(name = "{1} t={2} u''={3} r={4}")
    @MethodSource("meshesAndSpecialValues")
    void aRowWhoseEveryScoreIsMinusInfinityIsFullyMaskedAndGivesZeros(String ignored, Method method, int t, int u, int r) {
        if (!ignored.equals("NaN in K")) {
            return; // one case per mesh
        }
        float[] q = gaussian(1);
        float[] k = gaussian(2);
        for (int i = 0; i < k.length; i++) {
            k[i] = Math.abs(k[i]) + 0.5f; // positive keys: a -inf query element makes every score of its row -inf
        }
        float[] v = gaussian(3);
        int row = 5 * SHAPE.heads() + 1;
        q[row * SHAPE.headDim() + 3] = Float.NEGATIVE_INFINITY;
        float[] out = run(method, t, u, r, q, k, v);
        double[] ref = reference(q, k, v);
        for (int x = row * SHAPE.headDim(); x < (row + 1) * SHAPE.headDim(); x++) {
            assertEquals(0.0, ref[x], "the reference's fully masked row, element " + x);
            assertEquals(0.0f, out[x], method + ": fully masked row, element " + x);
        }
        double error = ReferenceAttention.relativeError(out, ref);
        assertTrue(error <= TOLERANCE, method + ": the other rows, norm-wise error " + error);
    }

    private static float[] run(Method method, int t, int u, int r, float[] q, float[] k, float[] v) {
        Plan plan = Plan.of(SHAPE, DeviceMesh.of(TOPOLOGY, method, t, u, r));
        try (CpuWorld world = CpuWorld.create(TOPOLOGY)) {
            return ShardedAttention.forward(world, plan, q, k, v);
        }
    }

    private static double[] reference(float[] q, float[] k, float[] v) {
        return ReferenceAttention.attention(q, k, v, SHAPE.batch(), SHAPE.seqLen(), SHAPE.heads(), SHAPE.headDim(),
                SHAPE.softmaxScale());
    }

    private static float[] filled(float c) {
        float[] x = new float[Math.toIntExact(SHAPE.elements())];
        Arrays.fill(x, c);
        return x;
    }

    private static float[] gaussian(long seed) {
        return new Inputs(SHAPE, seed).q;
    }
}
