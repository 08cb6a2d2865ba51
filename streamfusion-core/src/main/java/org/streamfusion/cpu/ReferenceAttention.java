package org.streamfusion.cpu;

/**
 * Single-device attention in float64: the ground truth every method is checked against. NaN and Inf follow
 * IEEE arithmetic (a NaN score, or a {@code +inf} one, makes its row NaN). A row whose every score is
 * {@code -inf} is fully masked: its output is 0, where the plain formula would give {@code 0/0}
 * (docs/algorithms.md, section 2).
 */
public final class ReferenceAttention {
    private ReferenceAttention() {
    }

    /** {@code softmax(q k^T * scale) v} over {@code [B, S, H, D]} row-major tensors, non-causal. */
    public static double[] attention(float[] q, float[] k, float[] v, int batch, int seq, int heads, int dim,
            double scale) {
        return attention(q, k, v, batch, seq, seq, heads, dim, scale);
    }

    /**
     * The same with {@code sq} query rows ({@code q} is {@code [B, sq, H, D]}) against {@code skv} key and
     * value rows ({@code [B, skv, H, D]}): a shard's rows against the whole sequence, or ragged chunks.
     */
    public static double[] attention(float[] q, float[] k, float[] v, int batch, int sq, int skv, int heads, int dim,
            double scale) {
        long nq = (long) batch * sq * heads * dim;
        long nkv = (long) batch * skv * heads * dim;
        if (q.length != nq || k.length != nkv || v.length != nkv) {
            throw new IllegalArgumentException("q must hold B*Sq*H*D = " + nq + " values, k and v B*Skv*H*D = " + nkv);
        }
        double[] out = new double[(int) nq];
        double[] s = new double[skv];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < sq; i++) {
                    int qi = ((b * sq + i) * heads + h) * dim;
                    double mx = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < skv; j++) {
                        int kj = ((b * skv + j) * heads + h) * dim;
                        double dot = 0;
                        for (int x = 0; x < dim; x++) {
                            dot += (double) q[qi + x] * k[kj + x];
                        }
                        s[j] = dot * scale;
                        mx = Math.max(mx, s[j]);
                    }
                    if (mx == Double.NEGATIVE_INFINITY) {
                        continue; // fully masked: the row stays 0
                    }
                    double sum = 0;
                    for (int j = 0; j < skv; j++) {
                        s[j] = Math.exp(s[j] - mx);
                        sum += s[j];
                    }
                    for (int j = 0; j < skv; j++) {
                        int vj = ((b * skv + j) * heads + h) * dim;
                        double p = s[j] / sum;
                        for (int x = 0; x < dim; x++) {
                            out[qi + x] += p * v[vj + x];
                        }
                    }
                }
            }
        }
        return out;
    }

    /** {@code ||out - ref|| / ||ref||}. */
    public static double relativeError(float[] out, double[] ref) {
        if (out.length != ref.length) {
            throw new IllegalArgumentException(out.length + " outputs for " + ref.length + " reference values");
        }
        double num = 0;
        double den = 0;
        for (int i = 0; i < out.length; i++) {
            double d = out[i] - ref[i];
            num += d * d;
            den += ref[i] * ref[i];
        }
        double e = Math.sqrt(num / den);
        return Double.isNaN(e) ? Double.POSITIVE_INFINITY : e;
    }
}
