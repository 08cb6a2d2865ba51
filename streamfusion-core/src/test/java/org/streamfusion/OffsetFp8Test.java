package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cpu.ShardedAttention;

/**
 * FP8 between machines when Q and K carry a large offset shared by every token (docs/algorithms.md, section 7):
 * against the same layer with an exact wire on the same inputs, the error stays within the stated bound
 * everywhere, and within the Gaussian tolerance where no block is over the limit; blocks over it are counted in
 * the layer event.
 */
class OffsetFp8Test {
    static final AttentionShape SHAPE = AttentionShape.of(1, 64, 8, 64);

    /** How Q and K are made: {@code c} plus a spread; V is Gaussian. */
    enum Inputs {
        /** Every element {@code c + d}, {@code d} a bf16 number in [-1e-3, 1e-3]: the probe that gave 1.01 at c = 1000. */
        SMALL_SPREAD,
        /** {@code c + N(0, 1)} rounded to bf16: the same bf16 inputs a bf16 wire carries exactly. */
        BF16_GRID,
        /** Gaussian, no offset. */
        GAUSSIAN
    }

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        Topology two = Topology.of(2, 1);
        Topology four = Topology.of(2, 2);
        DeviceMesh[] meshes = {DeviceMesh.of(two, Method.RING, 1, 1, 2), DeviceMesh.of(two, Method.ULYSSES, 1, 2, 1),
            DeviceMesh.of(two, Method.STREAMFUSION, 2, 1, 1), DeviceMesh.of(four, Method.USP, 1, 2, 2)};
        for (DeviceMesh mesh : meshes) {
            cases.add(Arguments.of(Inputs.GAUSSIAN, 0.0, mesh));
            for (double c : new double[] {30, 100, 1000}) {
                cases.add(Arguments.of(Inputs.SMALL_SPREAD, c, mesh));
                cases.add(Arguments.of(Inputs.BF16_GRID, c, mesh));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} c={1} {2}")
    @MethodSource("cases")
    void withinTheStatedBoundOfTheExactWireAndCountedWhereOverTheLimit(Inputs kind, double c, DeviceMesh mesh)
            throws Exception {
        long seed = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(seed);
        int n = Math.toIntExact(SHAPE.elements());
        float[] q = make(kind, c, n, rnd);
        float[] k = make(kind, c, n, rnd);
        float[] v = make(Inputs.GAUSSIAN, 0, n, rnd);
        Plan exact = Plan.of(SHAPE, mesh);
        Plan fp8 = exact.withInterMachine(LinkCompression.FP8_E4M3);
        String name = kind + " c=" + c + " " + mesh + " (seed " + seed + ")";
        float[] outExact;
        float[] outFp8;
        long[] counts = new long[2];
        Path file = Files.createTempFile("fp8-layers", ".jfr");
        try (CpuWorld world = CpuWorld.create(mesh.topology()); Recording recording = new Recording()) {
            outExact = ShardedAttention.forward(world, exact, q, k, v);
            recording.enable("org.streamfusion.Layer").withoutThreshold();
            recording.start();
            outFp8 = ShardedAttention.forward(world, fp8, q, k, v);
            recording.stop();
            recording.dump(file);
        }
        for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
            if (e.getEventType().getName().equals("org.streamfusion.Layer")) {
                counts[0] += e.getLong("fp8BlocksInBf16");
                counts[1] += e.getLong("fp8BlocksOverLimit");
            }
        }
        Files.delete(file);
        double[] ref = ReferenceAttention.attention(q, k, v, SHAPE.batch(), SHAPE.seqLen(), SHAPE.heads(),
                SHAPE.headDim(), SHAPE.softmaxScale());
        double againstFloat64 = ReferenceAttention.relativeError(outFp8, ref);
        double againstExact = ReferenceAttention.relativeError(outFp8, toDouble(outExact));
        double largest = 0;
        for (int i = 0; i < n; i++) {
            largest = Math.max(largest, Math.abs((double) outFp8[i] - outExact[i]));
        }
        double bound = bound(q, k, v, mesh.topology().worldSize());
        System.out.printf("fp8 offset %s: error %.2e against the exact wire (%.2e against float64), largest %.2e, "
                + "bound %.2e; blocks in bf16 %d, over the limit %d%n", name, againstExact, againstFloat64, largest,
                bound, counts[0], counts[1]);
        assertTrue(largest <= bound, name + ": largest error " + largest + " > the stated bound " + bound);
        assertTrue(againstExact <= InterMachineFp8Test.FP8_TOLERANCE || counts[0] + counts[1] > 0,
                name + ": error " + againstExact + " with no block counted over the limit");
        if (kind != Inputs.BF16_GRID) {
            assertEquals(0, counts[0] + counts[1], name + ": blocks over the limit");
            assertTrue(againstExact <= InterMachineFp8Test.FP8_TOLERANCE, name + ": error " + againstExact);
            assertTrue(againstFloat64 <= InterMachineFp8Test.FP8_TOLERANCE, name + ": against float64 " + againstFloat64);
        }
    }

    /**
     * The guaranteed bound of docs/algorithms.md, section 7, on every output element: a value crosses in e4m3
     * at most {@code h} times (here the world size), each time within {@code (2^-3 + 2^-20)} of its chunk's
     * centred spread, which the channel's range over all tokens bounds.
     */
    static double bound(float[] q, float[] k, float[] v, int h) {
        double tau = SHAPE.softmaxScale();
        int d = SHAPE.headDim();
        double grow = 0.5 * (Math.pow(1 + 2 * (0x1p-3 + 0x1p-20), h) - 1);
        double rangeK = range(k);
        double rangeV = range(v);
        double etaQ = grow * range(q);
        double etaK = grow * rangeK;
        double qMax = 0;
        double vMax = 0;
        for (int i = 0; i < q.length; i++) {
            qMax = Math.max(qMax, Math.abs(q[i]));
            vMax = Math.max(vMax, Math.abs(v[i]));
        }
        double logit = tau * d * ((qMax + etaQ) * etaK + etaQ * rangeK / 2);
        double beforeO = Math.expm1(2 * logit) * rangeV + grow * rangeV;
        double etaO = grow * (rangeV + 2 * beforeO);
        return beforeO + etaO + 1e-6 * vMax; // the last term: fp32 storage of both layers' outputs
    }

    /** The largest range of a channel (head, d) over all tokens. */
    static double range(float[] x) {
        int row = SHAPE.heads() * SHAPE.headDim();
        double widest = 0;
        for (int channel = 0; channel < row; channel++) {
            double lo = Double.POSITIVE_INFINITY;
            double hi = Double.NEGATIVE_INFINITY;
            for (int t = channel; t < x.length; t += row) {
                lo = Math.min(lo, x[t]);
                hi = Math.max(hi, x[t]);
            }
            widest = Math.max(widest, hi - lo);
        }
        return widest;
    }

    static float[] make(Inputs kind, double c, int n, SplittableRandom rnd) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = switch (kind) {
                case SMALL_SPREAD -> (float) c + bf16(1e-3 * (2 * rnd.nextDouble() - 1));
                case BF16_GRID -> bf16(c + gaussian(rnd));
                case GAUSSIAN -> (float) gaussian(rnd);
            };
        }
        return x;
    }

    static double gaussian(SplittableRandom rnd) {
        return Math.sqrt(-2 * Math.log(1 - rnd.nextDouble())) * Math.cos(2 * Math.PI * rnd.nextDouble());
    }

    /** {@code x} rounded to the nearest bf16, ties to even. */
    static float bf16(double x) {
        int bits = Float.floatToRawIntBits((float) x);
        return Float.intBitsToFloat((bits + 0x7FFF + ((bits >>> 16) & 1)) & 0xFFFF0000);
    }

    static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            d[i] = x[i];
        }
        return d;
    }
}
