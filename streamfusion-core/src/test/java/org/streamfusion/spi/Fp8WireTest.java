package org.streamfusion.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.streamfusion.InvalidArgumentException;

/**
 * The e4m3 codec of the inter-machine wire (docs/algorithms.md, section 7) against a brute-force reference:
 * the nearest of all 253 finite non-negative codes, ties to the even code, saturating at 448.
 */
class Fp8WireTest {
    /** Every finite e4m3 value, by code 0x00..0x7E. */
    private static final double[] VALUES = new double[0x7F];

    static {
        for (int code = 0; code < 0x7F; code++) {
            int exponent = code >> 3;
            int mantissa = code & 7;
            VALUES[code] = exponent == 0 ? mantissa * 0x1p-9 : (1 + mantissa / 8.0) * Math.scalb(1.0, exponent - 7);
        }
    }

    /** Nearest code by exact distance in double; a tie goes to the even code; beyond 448 saturates. */
    private static byte bruteForce(float x) {
        double a = Math.abs((double) x);
        int best = 0;
        for (int code = 1; code < 0x7F; code++) {
            double d = Math.abs(VALUES[code] - a);
            double bestD = Math.abs(VALUES[best] - a);
            if (d < bestD || d == bestD && (code & 1) == 0) {
                best = code;
            }
        }
        return (byte) ((x < 0 || (x == 0 && 1 / x < 0) ? 0x80 : 0) | best);
    }

    @Test
    void everyFiniteCodeDecodesToItsValueAndEncodesBackToItself() {
        for (int code = 0; code < 0x100; code++) {
            byte b = (byte) code;
            float v = Fp8Wire.decode(b);
            if ((code & 0x7F) == 0x7F) {
                assertTrue(Float.isNaN(v), "code 0x" + Integer.toHexString(code) + " is NaN");
                continue;
            }
            double expected = (code & 0x80) != 0 ? -VALUES[code & 0x7F] : VALUES[code & 0x7F];
            assertEquals(expected, v, 0.0, "code 0x" + Integer.toHexString(code));
            assertEquals(b, Fp8Wire.encode(v), "code 0x" + Integer.toHexString(code) + " (" + v + ") round trip");
        }
    }

    @Test
    void encodeIsTheNearestCodeWithTiesToEvenOnRandomAndMidpointInputs() {
        SplittableRandom rnd = new SplittableRandom(System.nanoTime());
        for (int i = 0; i < 200_000; i++) {
            float x = (float) ((rnd.nextDouble() * 2 - 1) * Math.scalb(1.0, rnd.nextInt(-14, 10)));
            assertEquals(bruteForce(x), Fp8Wire.encode(x), "x = " + x);
        }
        // Every midpoint between neighbouring codes is a tie: it must go to the even code.
        for (int code = 0; code + 1 < 0x7F; code++) {
            float mid = (float) ((VALUES[code] + VALUES[code + 1]) / 2);
            int even = (code & 1) == 0 ? code : code + 1;
            assertEquals((byte) even, Fp8Wire.encode(mid), "midpoint of codes " + code + " and " + (code + 1));
            assertEquals((byte) (0x80 | even), Fp8Wire.encode(-mid), "negative midpoint of codes " + code);
        }
    }

    @Test
    void largeValuesSaturateAtPlusMinus448AndNonFiniteValuesBecomeNaN() {
        assertEquals((byte) 0x7E, Fp8Wire.encode(448f));
        assertEquals((byte) 0x7E, Fp8Wire.encode(479.9f), "past the last code's half-way point still saturates");
        assertEquals((byte) 0x7E, Fp8Wire.encode(3e38f));
        assertEquals((byte) 0xFE, Fp8Wire.encode(-1e9f));
        assertEquals(Fp8Wire.E4M3_NAN, Fp8Wire.encode(Float.NaN));
        assertEquals(Fp8Wire.E4M3_NAN, Fp8Wire.encode(Float.POSITIVE_INFINITY));
        assertEquals(Fp8Wire.E4M3_NAN, Fp8Wire.encode(Float.NEGATIVE_INFINITY));
        assertEquals((byte) 0x00, Fp8Wire.encode(0x1p-10f), "half the smallest subnormal ties to zero");
        assertEquals((byte) 0x02, Fp8Wire.encode(3 * 0x1p-10f), "1.5 subnormal units tie to 2");
    }

    @Test
    void aBlockScaleMapsItsFiniteAmaxOntoTheLargestCode() {
        assertEquals(1f, Fp8Wire.scale(0f), "an all-zero block");
        for (float amax : new float[] {1e-30f, 0.3f, 1f, 448f, 7e3f, 3e38f}) {
            float scale = Fp8Wire.scale(amax);
            assertEquals((byte) 0x7E, Fp8Wire.encode(amax / scale), "amax " + amax);
        }
    }

    @Test
    void aBlockWhoseAmaxIsBelowTheSmallestScaleStillEncodesFiniteValues() {
        for (float amax : new float[] {Float.MIN_VALUE, 9.8e-45f, 6e-43f}) {
            float scale = Fp8Wire.scale(amax);
            assertTrue(scale > 0, "amax " + amax + ": scale " + scale);
            byte q = Fp8Wire.encode(amax / scale);
            assertTrue((q & 0x7F) != 0x7F, "amax " + amax + " encodes to NaN");
            assertEquals(-amax / scale, Fp8Wire.decode(Fp8Wire.encode(-amax / scale)), Math.abs(amax / scale) * 0.07,
                    "amax " + amax);
        }
    }

    @Test
    void wireSizesAreSixteenByteMultiplesAndBadBlocksAreRefusedWithTheRule() {
        assertEquals(128 + 4 * 1 + 12, Fp8Wire.bytes(128, 128));
        assertEquals(16 * 64 + 4 * 16, Fp8Wire.bytes(16 * 64, 64));
        assertEquals(Fp8Wire.bytes(16 * 64, 64) / 4, Fp8Wire.elements(16 * 64, 64));
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> Fp8Wire.bytes(100, 64));
        assertTrue(e.getMessage().contains("100") && e.getMessage().contains("multiple"), e.getMessage());
        assertThrows(InvalidArgumentException.class, () -> Fp8Wire.bytes(8192, 8192));
        assertThrows(InvalidArgumentException.class, () -> Fp8Wire.bytes(0, 64));
    }
}
