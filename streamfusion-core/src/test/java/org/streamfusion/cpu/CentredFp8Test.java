package org.streamfusion.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.streamfusion.spi.Fp8Layout;

/**
 * The centred e4m3 wire (docs/algorithms.md, section 7) element by element: every value comes back within
 * {@code 2^-3 a} of itself in an e4m3 block and {@code 2^-8 a} in a bf16 one, {@code a} being the block's
 * largest centred magnitude; a shared offset leaves {@code a} at the spread; blocks over the limit take the bf16
 * slots and, once those are gone, are counted.
 */
class CentredFp8Test {
    static final int D = 64;
    static final int HEADS = 3;
    static final int TOKENS = 96;
    static final double SCALE = 1 / Math.sqrt(D);

    record RoundTrip(float[] in, float[] out, Fp8Layout layout, long[] counts, float[] scales) {
    }

    static RoundTrip roundTrip(float[] x) {
        Fp8Layout layout = new Fp8Layout(x.length, D, HEADS * D, SCALE);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocateFrom(ValueLayout.JAVA_FLOAT, x);
            MemorySegment wire = arena.allocate(layout.bytes(), 16);
            MemorySegment counts = arena.allocate(16, 8);
            MemorySegment dst = arena.allocate(4L * x.length, 16);
            CentredFp8.quantize(src, wire, layout, counts);
            CentredFp8.dequantize(wire, dst, layout);
            float[] scales = wire.asSlice(layout.scalesOffset(), 4 * layout.blocks()).toArray(ValueLayout.JAVA_FLOAT);
            return new RoundTrip(x, dst.toArray(ValueLayout.JAVA_FLOAT), layout, counts.toArray(ValueLayout.JAVA_LONG),
                    scales);
        }
    }

    /** Every element within the documented bound of its block; returns the largest error over the spread. */
    static double checkBound(RoundTrip r, String name) {
        float[] centres = CentredFp8.centres(MemorySegment.ofArray(r.in), r.layout);
        double worst = 0;
        for (int b = 0; b < r.layout.blocks(); b++) {
            double a = 0;
            for (int i = 0; i < D; i++) {
                int e = b * D + i;
                a = Math.max(a, Math.abs(r.in[e] - centres[e % (HEADS * D)]));
            }
            double bound = (r.scales[b] < 0 ? 0x1p-8 : 0x1p-3) * a;
            for (int i = 0; i < D; i++) {
                int e = b * D + i;
                double err = Math.abs((double) r.out[e] - r.in[e]);
                assertTrue(err <= bound, name + ": element " + e + " = " + r.in[e] + " came back " + r.out[e]
                        + ", off by " + err + " > " + bound + " (block amax after centring " + a + ")");
                worst = Math.max(worst, a == 0 ? 0 : err / a);
            }
        }
        return worst;
    }

    static float[] offsetPlusSpread(long seed, double offset, double spread) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] channelOffset = new float[HEADS * D];
        for (int c = 0; c < channelOffset.length; c++) {
            channelOffset[c] = (float) (offset * (1 + 0.5 * rnd.nextDouble()) * (rnd.nextBoolean() ? 1 : -1));
        }
        float[] x = new float[TOKENS * HEADS * D];
        for (int e = 0; e < x.length; e++) {
            x[e] = channelOffset[e % channelOffset.length] + (float) (spread * (2 * rnd.nextDouble() - 1));
        }
        return x;
    }

    @Test
    void aSharedChannelOffsetCostsNothingTheErrorFollowsTheSpread() {
        for (double offset : new double[] {0, 30, 100, 1000, 1e6}) {
            for (double spread : new double[] {1e-3, 1}) {
                String name = "offset " + offset + ", spread " + spread;
                RoundTrip r = roundTrip(offsetPlusSpread(7 + (long) offset, offset, spread));
                double worst = checkBound(r, name);
                double absolute = 0;
                for (int e = 0; e < r.in.length; e++) {
                    absolute = Math.max(absolute, Math.abs((double) r.out[e] - r.in[e]));
                }
                // The spread sets the error (plus fp32's own rounding of offset + spread, half an ulp of the offset).
                double ulp = Math.ulp((float) (1.5 * offset + spread));
                assertTrue(absolute <= 0x1p-3 * 2 * spread + ulp, name + ": largest error " + absolute);
                assertTrue(worst <= 0x1p-3, name + ": relative to the centred amax " + worst);
            }
        }
    }

    @Test
    void withoutCentringTheSameValuesWouldLoseTheSpread() {
        // The former wire scaled each block by its own amax: 1000 +- 1e-3 kept none of the 1e-3.
        float[] x = offsetPlusSpread(3, 1000, 1e-3);
        RoundTrip r = roundTrip(x);
        assertEquals(0, r.counts[0] + r.counts[1], "small logit error: every block in e4m3");
        double spreadKept = 0;
        for (int e = 0; e < x.length; e++) {
            spreadKept = Math.max(spreadKept, Math.abs(r.out[e] - x[e]));
        }
        assertTrue(spreadKept < 3e-4, "error " + spreadKept + " against a spread of 1e-3 and an e4m3 step of 64 at 1000");
    }

    @Test
    void blocksOverTheLimitTakeTheBf16SlotsThenAreCounted() {
        SplittableRandom rnd = new SplittableRandom(11);
        float[] x = new float[TOKENS * HEADS * D];
        for (int e = 0; e < x.length; e++) {
            x[e] = (float) (rnd.nextDouble() * 2 - 1);
        }
        int[] outliers = {5, 17, 40, 41, 200};
        for (int b : outliers) {
            for (int i = 0; i < D; i++) {
                x[b * D + i] = 50f + 30f * (float) rnd.nextDouble(); // one token's head far from the others
            }
        }
        RoundTrip r = roundTrip(x);
        long slots = r.layout.patchSlots();
        assertEquals(9, slots, "288 blocks, one slot per 32");
        assertEquals(outliers.length, r.counts[0], "each outlier block in bf16");
        assertEquals(0, r.counts[1]);
        for (int b : outliers) {
            assertTrue(r.scales[b] < 0, "block " + b + " sent in bf16");
        }
        checkBound(r, "outliers");

        float[] all = offsetPlusSpread(5, 0, 40); // every block over the limit: 9 slots, the rest counted
        RoundTrip full = roundTrip(all);
        assertEquals(slots, full.counts[0]);
        assertEquals(full.layout.blocks() - slots, full.counts[1]);
        checkBound(full, "every block over the limit");
    }

    @Test
    void nonFiniteValuesStayNonFiniteAndHugeChannelsAreNotCentred() {
        float[] x = offsetPlusSpread(9, 10, 1);
        x[3] = Float.NaN;
        x[D + 1] = Float.POSITIVE_INFINITY;
        for (int t = 0; t < TOKENS; t++) {
            x[t * HEADS * D + 2 * D + 5] = (t % 2 == 0 ? 1 : -1) * 3e38f; // centring would overflow
        }
        RoundTrip r = roundTrip(x);
        assertTrue(Float.isNaN(r.out[3]), "NaN stays NaN: " + r.out[3]);
        assertTrue(!Float.isFinite(r.out[D + 1]), "inf comes back inf (bf16) or NaN (e4m3), never a number: " + r.out[D + 1]);
        float[] centres = CentredFp8.centres(MemorySegment.ofArray(x), r.layout);
        assertEquals(0f, centres[2 * D + 5], "a channel reaching 2^126 keeps centre 0");
        double sum = 0;
        for (int t = 1; t < TOKENS; t++) {
            sum += x[t * HEADS * D + 3];
        }
        assertEquals(sum / (TOKENS - 1), centres[3], 1e-5, "the mean of channel 3 leaves its NaN out");
        for (int t = 0; t < TOKENS; t++) {
            int e = t * HEADS * D + 2 * D + 5;
            assertTrue(Float.isFinite(r.out[e]) && Math.abs(r.out[e] - x[e]) <= 0x1p-3 * 3e38, "huge value " + r.out[e]);
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals(1f, CentredFp8.fromBf16(CentredFp8.toBf16(1f + 0x1p-8f)), "a tie goes to even");
        assertEquals(1f + 0x1p-6f, CentredFp8.fromBf16(CentredFp8.toBf16(1f + 3 * 0x1p-8f)), "a tie goes to even, up");
        assertEquals(1f + 0x1p-7f, CentredFp8.fromBf16(CentredFp8.toBf16(1f + 0x1p-7f + 0x1p-10f)), "below the tie");
        assertEquals(Float.POSITIVE_INFINITY, CentredFp8.fromBf16(CentredFp8.toBf16(Float.MAX_VALUE)));
        assertTrue(Float.isNaN(CentredFp8.fromBf16(CentredFp8.toBf16(Float.NaN))));
        assertEquals(CentredFp8.CANONICAL_NAN, CentredFp8.toBf16(Float.intBitsToFloat(0xFFFFFFFF)),
                "a negative NaN with a full payload is the one quiet NaN on the wire, as the GPU writes it");
        assertEquals(-0f, CentredFp8.fromBf16(CentredFp8.toBf16(-0f)));
    }
}
