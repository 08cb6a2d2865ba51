package org.streamfusion.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The vector tiles give the scalar tiles' bits: each score is the float64 sum over D in order, each output
 * element the float64 sum over the keys in order, on random and adversarial inputs (infinities, NaN, signed
 * zeros, huge and tiny magnitudes) and on sizes that leave vector and register-block tails. The system
 * property selects the scalar tiles.
 */
class AttentionTilesTest {
    private static final AttentionTiles SCALAR = AttentionTiles.select(true);
    private static final AttentionTiles VECTOR = AttentionTiles.select(false);

    @Test
    void theVectorApiIsPresentOnTheTestsModulePathAndTheTilesUseIt() {
        assertTrue(VECTOR instanceof VectorTiles, "selected without the property: " + VECTOR.describe());
        assertEquals("scalar", SCALAR.describe());
        assertEquals(!Boolean.getBoolean(AttentionTiles.SCALAR_PROPERTY), AttentionTiles.selected() instanceof VectorTiles,
                "the JVM-wide tiles follow -D" + AttentionTiles.SCALAR_PROPERTY);
    }

    @Test
    void vectorScoresAreTheScalarScoresBitForBit() {
        SplittableRandom rnd = new SplittableRandom(25);
        for (int trial = 0; trial < 300; trial++) {
            int rows = 1 + rnd.nextInt(BlockedAttention.TILE_ROWS);
            int n = rnd.nextInt(70);
            int d = 1 + rnd.nextInt(80);
            double[] q = values(rnd, rows * d, trial);
            double[] kT = values(rnd, AttentionTiles.keyStride(n) * d, trial);
            double[] expected = new double[rows * Math.max(1, n)];
            double[] actual = new double[rows * Math.max(1, n)];
            SCALAR.scores(q, rows, kT, n, d, expected);
            VECTOR.scores(q, rows, kT, n, d, actual);
            assertBits(expected, actual, "scores, trial " + trial + " rows=" + rows + " n=" + n + " d=" + d);
        }
    }

    @Test
    void vectorOutputUpdatesAreTheScalarUpdatesBitForBitOnTheListedRowsOnly() {
        SplittableRandom rnd = new SplittableRandom(52);
        for (int trial = 0; trial < 300; trial++) {
            int rows = 1 + rnd.nextInt(BlockedAttention.TILE_ROWS);
            int n = rnd.nextInt(70);
            int d = 1 + rnd.nextInt(80);
            double[] p = values(rnd, rows * Math.max(1, n), trial);
            double[] v = values(rnd, n * d, trial);
            double[] expected = values(rnd, rows * d, trial);
            double[] actual = expected.clone();
            int[] listed = new int[rows];
            int count = 0;
            for (int i = 0; i < rows; i++) {
                if (rnd.nextInt(5) > 0) {
                    listed[count++] = i;
                }
            }
            double[] before = expected.clone();
            SCALAR.accumulate(p, v, n, d, expected, listed, count);
            VECTOR.accumulate(p, v, n, d, actual, listed, count);
            String what = "outputs, trial " + trial + " rows=" + rows + " n=" + n + " d=" + d;
            assertBits(expected, actual, what);
            boolean[] touched = new boolean[rows];
            for (int c = 0; c < count; c++) {
                touched[listed[c]] = true;
            }
            for (int i = 0; i < rows; i++) {
                if (!touched[i]) {
                    for (int x = 0; x < d; x++) {
                        assertEquals(Double.doubleToRawLongBits(before[i * d + x]), Double.doubleToRawLongBits(actual[i * d + x]),
                                what + ": row " + i + " is not listed and must stay as it was");
                    }
                }
            }
        }
    }

    @Test
    void expIsWithinTwoUlpsOfMathExpAndTheVectorTilesGiveTheScalarBits() {
        SplittableRandom rnd = new SplittableRandom(7);
        double[] special = {0.0, -0.0, -1e-300, Double.NEGATIVE_INFINITY, Double.NaN, -707.9, -708.0, -708.1, -745.2,
            -746, Math.log(Double.MIN_NORMAL), 1e-9, 708.5, 709.7, Double.POSITIVE_INFINITY};
        for (int trial = 0; trial < 2000; trial++) {
            int n = 1 + rnd.nextInt(40);
            double shift = trial % 3 == 0 ? 0 : rnd.nextDouble(-50, 50);
            double[] x = new double[n];
            for (int r = 0; r < n; r++) {
                x[r] = rnd.nextInt(10) == 0 ? special[rnd.nextInt(special.length)] + shift
                        : shift - rnd.nextDouble() * Math.scalb(1.0, rnd.nextInt(-30, 10));
            }
            double[] scalar = x.clone();
            double[] vector = x.clone();
            SCALAR.exp(scalar, 0, n, shift);
            VECTOR.exp(vector, 0, n, shift);
            assertBits(scalar, vector, "exp, trial " + trial);
            for (int r = 0; r < n; r++) {
                double expected = Math.exp(x[r] - shift);
                double ulps = Math.abs(scalar[r] - expected) / Math.ulp(expected);
                assertTrue(Double.compare(expected, scalar[r]) == 0 || ulps <= 2, "exp(" + (x[r] - shift) + ") = "
                        + scalar[r] + ", Math.exp gives " + expected + " (" + ulps + " ulps)");
            }
        }
    }

    @Test
    void vectorRowMaximumIsTheScalarOneWhateverTheOrderIncludingNanInfinitiesAndSignedZeros() {
        SplittableRandom rnd = new SplittableRandom(11);
        for (int trial = 0; trial < 3000; trial++) {
            int n = rnd.nextInt(70); // empty rows, rows shorter than a vector and vector tails
            int from = rnd.nextInt(5);
            double[] x = new double[from + n + rnd.nextInt(5)];
            double[] v = values(rnd, x.length, trial % 2 == 0 ? 6 : trial);
            System.arraycopy(v, 0, x, 0, x.length);
            double expected = Double.NEGATIVE_INFINITY;
            for (int r = from; r < from + n; r++) {
                expected = Math.max(expected, x[r]);
            }
            assertBits(new double[] {expected}, new double[] {SCALAR.max(x, from, from + n)}, "scalar max, trial " + trial);
            assertBits(new double[] {expected}, new double[] {VECTOR.max(x, from, from + n)}, "vector max, trial " + trial);
        }
    }

    /** Mostly uniform values; every seventh trial adversarial: infinities, NaN, signed zeros, extreme magnitudes. */
    private static double[] values(SplittableRandom rnd, int count, int trial) {
        double[] x = new double[count];
        double[] special = {Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NaN, 0.0, -0.0, 1e300, -1e300,
            Double.MIN_VALUE, 1e-300};
        for (int i = 0; i < count; i++) {
            x[i] = trial % 7 == 6 && rnd.nextInt(8) == 0 ? special[rnd.nextInt(special.length)]
                    : (float) rnd.nextDouble(-4, 4) * Math.scalb(1.0, rnd.nextInt(-20, 20));
        }
        return x;
    }

    private static void assertBits(double[] expected, double[] actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            long e = Double.doubleToRawLongBits(expected[i]);
            long a = Double.doubleToRawLongBits(actual[i]);
            // NaN payloads may differ between scalar and vector arithmetic; a NaN must stay a NaN.
            if (e != a && !(Double.isNaN(expected[i]) && Double.isNaN(actual[i]))) {
                throw new AssertionError(what + ": element " + i + " is " + actual[i] + ", the scalar tiles give "
                        + expected[i]);
            }
        }
    }
}
