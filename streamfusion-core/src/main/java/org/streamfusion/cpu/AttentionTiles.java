package org.streamfusion.cpu;

import java.util.Arrays;

/**
 * The two products of the blocked attention kernel, on float64 tiles: scores {@code S = Q K^T} and the update
 * {@code O += P V}. Every element is a sum taken in the order of the scalar definition (over {@code D} for a
 * score, over the keys for an output element), one rounded multiply and one rounded add per term, so that
 * every implementation gives the same bits: the scalar one here, and {@link VectorTiles} on the Vector API
 * lanes of which run across keys (scores) or across {@code D} (outputs), never across a sum.
 *
 * <p>{@link #selected()} is the vector one where {@code jdk.incubator.vector} is present (add
 * {@code --add-modules jdk.incubator.vector} on the class path), unless the system property
 * {@value #SCALAR_PROPERTY} is {@code true}.
 */
class AttentionTiles {
    /** Set to {@code true} to run the scalar tiles even where the Vector API is present. */
    static final String SCALAR_PROPERTY = "org.streamfusion.cpu.scalar";

    private static final System.Logger LOG = System.getLogger(AttentionTiles.class.getName());
    private static final AttentionTiles SELECTED = logged(select(Boolean.getBoolean(SCALAR_PROPERTY)));

    AttentionTiles() {
    }

    /** {@return the tiles every CPU kernel of this JVM runs} */
    static AttentionTiles selected() {
        return SELECTED;
    }

    /** The scalar tiles when {@code forceScalar} or when the Vector API is absent, else the vector tiles. */
    static AttentionTiles select(boolean forceScalar) {
        if (forceScalar) {
            return new AttentionTiles();
        }
        try {
            Class.forName("jdk.incubator.vector.DoubleVector", false, AttentionTiles.class.getClassLoader());
            AttentionTiles vector = (AttentionTiles) Class.forName("org.streamfusion.cpu.VectorTiles")
                    .getDeclaredConstructor().newInstance();
            return vector.usable() ? vector : new AttentionTiles();
        } catch (ReflectiveOperationException | LinkageError e) {
            return new AttentionTiles(); // the module is not in this runtime, or not resolved
        }
    }

    /** The choice, logged once per JVM: the scalar tiles are a fallback (same bits, about 8x slower). */
    private static AttentionTiles logged(AttentionTiles tiles) {
        if (Boolean.getBoolean(SCALAR_PROPERTY)) {
            LOG.log(System.Logger.Level.INFO, "CPU attention tiles: scalar, as " + SCALAR_PROPERTY + "=true asks");
        } else if (tiles.getClass() == AttentionTiles.class) {
            LOG.log(System.Logger.Level.INFO, "CPU attention tiles: scalar fallback, the Vector API is not usable in this"
                    + " runtime (on the class path add --add-modules jdk.incubator.vector); same bits, slower");
        } else {
            LOG.log(System.Logger.Level.DEBUG, "CPU attention tiles: " + tiles.describe());
        }
        return tiles;
    }

    /** {@return a name for reports: "scalar" or the vector shape} */
    String describe() {
        return "scalar";
    }

    boolean usable() {
        return true;
    }

    /**
     * Row stride of transposed keys of {@code n} rows: {@code n} and one cache line, so that the rows of a
     * register block do not all map to the same L1 sets (a stride of a multiple of 4 KiB would).
     */
    static int keyStride(int n) {
        return n + 8;
    }

    /**
     * {@code s[i*n + r] = sum over x in order of q[i*d + x] * kT[x*stride + r]} for rows {@code i < rows},
     * keys {@code r < n}, {@code stride = keyStride(n)}.
     *
     * @param q  query rows, already scaled, {@code [rows, d]}
     * @param kT keys transposed, {@code [d, keyStride(n)]}
     * @param s  scores out, {@code [rows, n]}
     */
    void scores(double[] q, int rows, double[] kT, int n, int d, double[] s) {
        int stride = keyStride(n);
        for (int i = 0; i < rows; i++) {
            int si = i * n;
            Arrays.fill(s, si, si + n, 0);
            for (int x = 0; x < d; x++) {
                double qx = q[i * d + x];
                int kx = x * stride;
                for (int r = 0; r < n; r++) {
                    s[si + r] += qx * kT[kx + r];
                }
            }
        }
    }

    /**
     * The largest of {@code s[from..to)} as {@link Math#max} takes it ({@code -inf} when empty, NaN when one is
     * NaN): the same whatever order the elements are compared in.
     */
    double max(double[] s, int from, int to) {
        double mx = Double.NEGATIVE_INFINITY;
        for (int r = from; r < to; r++) {
            mx = Math.max(mx, s[r]);
        }
        return mx;
    }

    /** {@code round(x * log2(e))} by the 1.5 * 2^52 trick: exact for |x * log2(e)| < 2^51. */
    static final double ROUND = 0x1.8p52;
    static final double LOG2E = 0x1.71547652b82fep0;
    /** ln 2 in two parts: {@code k * LN2_HI} is exact for the k here (|k| <= 1022). */
    static final double LN2_HI = 0x1.62e42fee00000p-1;
    static final double LN2_LO = 0x1.a39ef35793c76p-33;
    /** 1/n! for n = 13 down to 2: Taylor terms of exp(r), |r| <= ln(2)/2, truncation below 1e-17. */
    static final double[] TAYLOR = new double[12];

    static {
        double f = 1;
        for (int n = 2; n <= 13; n++) {
            f *= n;
            TAYLOR[13 - n] = 1 / f;
        }
    }

    /** Where {@link #exp} runs its own formula; outside (and for NaN) it is {@link Math#exp}'s. */
    static final double EXP_LOW = -708;
    static final double EXP_HIGH = 709;

    /**
     * {@code s[r] = exp(s[r] - shift)} for {@code from <= r < to}. One formula, written in plain adds and
     * multiplies so that the scalar and the vector tiles give the same bits: {@code k = round(x log2 e)},
     * {@code r = x - k ln 2} in two parts, a Taylor polynomial of degree 13 by Horner, times {@code 2^k} (a
     * result within a few ulps of {@link Math#exp}). Arguments outside [{@value #EXP_LOW},
     * {@value #EXP_HIGH}], infinities and NaN, go to {@link Math#exp}.
     */
    void exp(double[] s, int from, int to, double shift) {
        for (int r = from; r < to; r++) {
            s[r] = exp(s[r] - shift);
        }
    }

    static double exp(double x) {
        if (!(x >= EXP_LOW && x <= EXP_HIGH)) {
            return Math.exp(x);
        }
        double t = x * LOG2E + ROUND;
        double k = t - ROUND;
        double r = x - k * LN2_HI;
        r = r - k * LN2_LO;
        double p = TAYLOR[0];
        for (int i = 1; i < TAYLOR.length; i++) {
            p = p * r + TAYLOR[i];
        }
        p = p * r + 1;
        p = p * r + 1;
        return p * Double.longBitsToDouble((Double.doubleToRawLongBits(t) + 1023) << 52);
    }

    /**
     * {@code acc[i*d + x] += p[i*n + r] * v[r*d + x]}, for {@code r} in order, for each listed row {@code i}.
     *
     * @param p     weights, {@code [*, n]}
     * @param v     values, {@code [n, d]}
     * @param acc   accumulators, {@code [*, d]}
     * @param rows  the rows to update
     * @param count how many of {@code rows} to use
     */
    void accumulate(double[] p, double[] v, int n, int d, double[] acc, int[] rows, int count) {
        for (int c = 0; c < count; c++) {
            int i = rows[c];
            for (int r = 0; r < n; r++) {
                double pr = p[i * n + r];
                int vr = r * d;
                int ai = i * d;
                for (int x = 0; x < d; x++) {
                    acc[ai + x] += pr * v[vr + x];
                }
            }
        }
    }
}
