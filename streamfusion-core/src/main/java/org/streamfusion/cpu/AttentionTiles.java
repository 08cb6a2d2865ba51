package org.streamfusion.cpu;

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

    private static final AttentionTiles SELECTED = select(Boolean.getBoolean(SCALAR_PROPERTY));

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

    /** {@return a name for reports: "scalar" or the vector shape} */
    String describe() {
        return "scalar";
    }

    boolean usable() {
        return true;
    }

    /**
     * {@code s[i*n + r] = sum over x in order of q[i*d + x] * kT[x*n + r]} for rows {@code i < rows}, keys
     * {@code r < n}.
     *
     * @param q  query rows, already scaled, {@code [rows, d]}
     * @param kT keys transposed, {@code [d, n]}
     * @param s  scores out, {@code [rows, n]}
     */
    void scores(double[] q, int rows, double[] kT, int n, int d, double[] s) {
        for (int i = 0; i < rows; i++) {
            int si = i * n;
            java.util.Arrays.fill(s, si, si + n, 0);
            for (int x = 0; x < d; x++) {
                double qx = q[i * d + x];
                int kx = x * n;
                for (int r = 0; r < n; r++) {
                    s[si + r] += qx * kT[kx + r];
                }
            }
        }
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
