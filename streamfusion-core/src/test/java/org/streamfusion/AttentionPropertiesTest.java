package org.streamfusion;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cpu.ShardedAttention;
import org.streamfusion.planning.Planner;

/**
 * Property: every method on every mesh {@link Planner#enumerate} accepts computes float64 attention, for
 * generated topologies (up to 4 ranks), shapes (shard lengths S/N from 1 to 3 tokens, any B, H, D the mesh
 * allows) and adversarial values: huge and tiny logits, denormals, all-equal rows, NaN and Inf in Q or K, NaN
 * in V. NaN exactly where float64 attention has NaN; elsewhere a norm-wise error of at most 1e-5. A failure
 * is shrunk to a minimal case by jqwik. The seed is fixed (CI replays the same cases); the number of tries is
 * {@code jqwik.tries.default} (src/test/resources/junit-platform.properties), raised on the command line to
 * run longer (README, "Tests").
 */
class AttentionPropertiesTest {
    static final double TOLERANCE = 1e-5;
    static final int[][] TOPOLOGIES = {{1, 1}, {1, 2}, {2, 1}, {1, 3}, {2, 2}, {1, 4}, {4, 1}};

    /** How the values of Q, K and V are drawn. */
    enum Values {
        GAUSSIAN, HUGE_LOGITS, TINY_LOGITS, DENORMALS, ALL_EQUAL, NAN_IN_Q, NAN_IN_K, NAN_IN_V, INF_IN_Q, INF_IN_K,
        MINUS_INF_IN_K
    }

    record Case(Topology topology, AttentionShape shape, Planner.Candidate mesh, Values values, double magnitude,
            long seed, int position) {
        @Override
        public String toString() {
            return topology + " " + shape.toString().replace(" BF16", "") + " " + mesh.method() + " (t=" + mesh.t()
                    + ", u=" + mesh.u() + ", r=" + mesh.r() + ") " + values + " magnitude=" + magnitude + " seed=" + seed
                    + " position=" + position;
        }
    }

    @Property(seed = "20261201")
    void everyMethodOnEveryMeshAgreesWithFloat64Attention(@ForAll("cases") Case c) {
        float[][] qkv = values(c);
        float[] out;
        try (CpuWorld world = CpuWorld.create(c.topology())) {
            out = ShardedAttention.forward(world, c.mesh().plan(), qkv[0], qkv[1], qkv[2]);
        }
        AttentionShape s = c.shape();
        double[] ref = ReferenceAttention.attention(qkv[0], qkv[1], qkv[2], s.batch(), s.seqLen(), s.heads(), s.headDim(),
                s.softmaxScale());
        double num = 0;
        double den = 0;
        for (int i = 0; i < ref.length; i++) {
            if (Double.isNaN(ref[i]) != Float.isNaN(out[i])) {
                throw new AssertionError(c + ": element " + i + " is " + out[i] + ", float64 attention gives " + ref[i]);
            }
            if (!Double.isNaN(ref[i])) {
                double d = out[i] - ref[i];
                num += d * d;
                den += ref[i] * ref[i];
            }
        }
        double error = Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-300);
        if (!(error <= TOLERANCE) && !(den == 0 && num == 0)) {
            throw new AssertionError(c + ": norm-wise error " + error + " > " + TOLERANCE);
        }
    }

    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<int[]> topology = Arbitraries.of(TOPOLOGIES);
        return topology.flatMap(mg -> {
            Topology t = Topology.of(mg[0], mg[1]);
            int n = t.worldSize();
            Arbitrary<AttentionShape> shape = Combinators.combine(Arbitraries.integers().between(1, 2),
                    Arbitraries.integers().between(1, 3), Arbitraries.of(1, 2, 3, 4, 6, 8), Arbitraries.integers().between(1, 16))
                    .as((b, tokens, h, d) -> AttentionShape.of(b, tokens * n, h, d, DType.F32));
            return shape.flatMap(s -> {
                List<Planner.Candidate> valid = validMeshes(s, t);
                Arbitrary<Planner.Candidate> mesh = Arbitraries.of(valid);
                return Combinators.combine(mesh, Arbitraries.of(Values.class), Arbitraries.of(1.0, 30.0, 1e3, 1e4),
                        Arbitraries.longs().between(0, 1000), Arbitraries.integers().between(0, Integer.MAX_VALUE))
                        .as((m, v, mag, seed, pos) -> new Case(t, s, m, v, mag, seed,
                                (int) (pos % s.elements())));
            });
        });
    }

    /** Every valid mesh the planner tries, built as it builds them but not ranked (no simulation per case). */
    private static List<Planner.Candidate> validMeshes(AttentionShape shape, Topology topology) {
        List<Planner.Candidate> valid = new ArrayList<>();
        for (Method m : Method.values()) {
            for (int[] d : Planner.degrees(shape, topology, m)) {
                try {
                    Plan plan = Plan.of(shape, DeviceMesh.of(topology, m, d[0], d[1], d[2]));
                    valid.add(new Planner.Candidate(m, d[0], d[1], d[2], plan, null, 0, 0, 0, null));
                } catch (InvalidConfigurationException e) {
                    // not a mesh of this shape: the planner lists it as invalid
                }
            }
        }
        return valid;
    }

    private static float[][] values(Case c) {
        int n = Math.toIntExact(c.shape().elements());
        SplittableRandom rnd = new SplittableRandom(c.seed());
        float[][] qkv = new float[3][n];
        for (float[] x : qkv) {
            for (int i = 0; i < n; i++) {
                x[i] = (float) (rnd.nextDouble() * 2 - 1);
            }
        }
        float m = (float) c.magnitude();
        switch (c.values()) {
            case GAUSSIAN -> { }
            case HUGE_LOGITS -> scale(qkv, 2, m);
            case TINY_LOGITS -> scale(qkv, 2, 1e-20f);
            case DENORMALS -> scale(qkv, 2, 1e-39f);
            case ALL_EQUAL -> {
                Arrays.fill(qkv[0], m);
                Arrays.fill(qkv[1], m);
            }
            case NAN_IN_Q -> qkv[0][c.position()] = Float.NaN;
            case NAN_IN_K -> qkv[1][c.position()] = Float.NaN;
            case NAN_IN_V -> qkv[2][c.position()] = Float.NaN;
            case INF_IN_Q -> qkv[0][c.position()] = Float.POSITIVE_INFINITY;
            case INF_IN_K -> qkv[1][c.position()] = Float.POSITIVE_INFINITY;
            case MINUS_INF_IN_K -> qkv[1][c.position()] = Float.NEGATIVE_INFINITY;
        }
        return qkv;
    }

    /** Multiplies Q and K (the first {@code count} tensors) by {@code factor}. */
    private static void scale(float[][] qkv, int count, float factor) {
        for (int t = 0; t < count; t++) {
            for (int i = 0; i < qkv[t].length; i++) {
                qkv[t][i] *= factor;
            }
        }
    }
}
