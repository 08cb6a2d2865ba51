package org.streamfusion.cpu;

import java.util.Locale;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.WorkLimits;

/**
 * Single-device attention in float64: the ground truth every method is checked against. NaN and Inf follow
 * IEEE arithmetic (a NaN score, or a {@code +inf} one, makes its row NaN). A row whose every score is
 * {@code -inf} is fully masked: its output is 0, where the plain formula would give {@code 0/0}
 * (docs/algorithms.md, section 2).
 */
public final class ReferenceAttention {
    private ReferenceAttention() {
    }

    /**
     * {@code softmax(q k^T * scale) v} over {@code [B, S, H, D]} row-major tensors, non-causal.
     *
     * @param q     queries, {@code B*S*H*D} values
     * @param k     keys, {@code B*S*H*D} values
     * @param v     values, {@code B*S*H*D} values
     * @param batch batches {@code B}
     * @param seq   rows per batch {@code S}, for queries and keys alike
     * @param heads heads {@code H}
     * @param dim   elements per head {@code D}
     * @param scale factor on every score, usually {@code 1/sqrt(D)}
     * @return the output, {@code [B, S, H, D]}
     * @throws InvalidArgumentException if an array's length does not match the shape
     */
    public static double[] attention(float[] q, float[] k, float[] v, int batch, int seq, int heads, int dim,
            double scale) {
        return attention(q, k, v, batch, seq, seq, heads, dim, scale);
    }

    /**
     * Refuses, before anything is allocated, a reference that could not finish: more than
     * {@link org.streamfusion.WorkLimits#REFERENCE_FLOPS} ({@code 4*B*H*Sq*Skv*D}), or an output of
     * {@code 8*B*Sq*H*D} bytes that with {@code heldBytes} more (the caller's inputs) passes the JVM's maximum heap.
     *
     * @param batch     batches {@code B}
     * @param sq        query rows per batch
     * @param skv       key and value rows per batch
     * @param heads     heads {@code H}
     * @param dim       elements per head {@code D}
     * @param heldBytes bytes the caller will hold beside the output, at least 0
     * @throws org.streamfusion.InvalidConfigurationException naming the work or the bytes and the limit
     */
    public static void requireFeasible(int batch, int sq, int skv, int heads, int dim, long heldBytes) {
        String what = "the float64 reference over B=" + batch + " Sq=" + sq + " Skv=" + skv + " H=" + heads + " D=" + dim;
        WorkLimits.check(WorkLimits.REFERENCE_FLOPS, what,
                4.0 * batch * heads * sq * (double) skv * dim, "flops");
        double bytes = 8.0 * batch * sq * heads * dim + heldBytes;
        long heap = Runtime.getRuntime().maxMemory();
        if (bytes > heap || (double) batch * sq * heads * dim > Integer.MAX_VALUE - 8) {
            throw new InvalidConfigurationException(String.format(Locale.ROOT,
                    "%s needs %.3g bytes of heap", what, bytes), "at most the JVM's maximum heap, " + heap
                    + " bytes (-Xmx), and B*Sq*H*D < 2^31 elements in one array");
        }
    }

    /**
     * The same with {@code sq} query rows ({@code q} is {@code [B, sq, H, D]}) against {@code skv} key and
     * value rows ({@code [B, skv, H, D]}): a shard's rows against the whole sequence, or ragged chunks.
     *
     * @param q     queries, {@code B*sq*H*D} values
     * @param k     keys, {@code B*skv*H*D} values
     * @param v     values, {@code B*skv*H*D} values
     * @param batch batches {@code B}
     * @param sq    query rows per batch
     * @param skv   key and value rows per batch
     * @param heads heads {@code H}
     * @param dim   elements per head {@code D}
     * @param scale factor on every score, usually {@code 1/sqrt(D)}
     * @return the output, {@code [B, sq, H, D]}
     * @throws InvalidArgumentException if an array's length does not match the shape
     * @throws org.streamfusion.InvalidConfigurationException if the work passes
     *         {@link org.streamfusion.WorkLimits#REFERENCE_FLOPS} or its output does not fit the heap
     */
    public static double[] attention(float[] q, float[] k, float[] v, int batch, int sq, int skv, int heads, int dim,
            double scale) {
        long nq = (long) batch * sq * heads * dim;
        long nkv = (long) batch * skv * heads * dim;
        if (q.length != nq || k.length != nkv || v.length != nkv) {
            throw new InvalidArgumentException("q must hold B*Sq*H*D = " + nq + " values, k and v B*Skv*H*D = " + nkv);
        }
        requireFeasible(batch, sq, skv, heads, dim, 0);
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

    /**
     * Joint attention in float64, batch by batch: {@code [image; text]} queries over {@code [image; the first
     * validText[b] text]} keys ({@code validText} {@code null}: every text key). The image tensors are
     * {@code [B, seq, H, D]}, the text ones {@code [B, textRows, H, D]}.
     *
     * @param q         image queries
     * @param k         image keys
     * @param v         image values
     * @param qText     text queries
     * @param kText     text keys
     * @param vText     text values
     * @param batch     batches {@code B}
     * @param seq       image rows per batch
     * @param textRows  text rows per batch
     * @param heads     heads {@code H}
     * @param dim       elements per head {@code D}
     * @param scale     factor on every score, usually {@code 1/sqrt(D)}
     * @param validText per batch, how many leading text keys count, {@code 0..textRows}; {@code null}: all
     * @return the image output and the text output, {@code [B, seq, H, D]} and {@code [B, textRows, H, D]}
     * @throws InvalidArgumentException if an array's length does not match the shape, {@code validText} does not
     *         hold {@code B} counts, or a count is outside {@code 0..textRows}
     */
    public static double[][] joint(float[] q, float[] k, float[] v, float[] qText, float[] kText, float[] vText,
            int batch, int seq, int textRows, int heads, int dim, double scale, int[] validText) {
        // Up front, in long: a bad length or count would otherwise surface as an index error mid-copy.
        long image = (long) batch * seq * heads * dim;
        long text = (long) batch * textRows * heads * dim;
        requireLength("q", q, image, "B*seq*H*D");
        requireLength("k", k, image, "B*seq*H*D");
        requireLength("v", v, image, "B*seq*H*D");
        requireLength("qText", qText, text, "B*textRows*H*D");
        requireLength("kText", kText, text, "B*textRows*H*D");
        requireLength("vText", vText, text, "B*textRows*H*D");
        if (validText != null) {
            if (validText.length != batch) {
                throw new InvalidArgumentException("validText holds " + validText.length + " counts, not B = " + batch);
            }
            for (int b = 0; b < batch; b++) {
                if (validText[b] < 0 || validText[b] > textRows) {
                    throw new InvalidArgumentException("validText[" + b + "]=" + validText[b] + " is outside 0..textRows="
                            + textRows);
                }
            }
        }
        int row = heads * dim;
        double[] imageOut = new double[batch * seq * row];
        double[] textOut = new double[batch * textRows * row];
        for (int b = 0; b < batch; b++) {
            int valid = validText == null ? textRows : validText[b];
            int keys = seq + valid;
            float[] qb = new float[(seq + textRows) * row];
            float[] kb = new float[keys * row];
            float[] vb = new float[keys * row];
            System.arraycopy(q, b * seq * row, qb, 0, seq * row);
            System.arraycopy(qText, b * textRows * row, qb, seq * row, textRows * row);
            System.arraycopy(k, b * seq * row, kb, 0, seq * row);
            System.arraycopy(v, b * seq * row, vb, 0, seq * row);
            System.arraycopy(kText, b * textRows * row, kb, seq * row, valid * row);
            System.arraycopy(vText, b * textRows * row, vb, seq * row, valid * row);
            double[] o = attention(qb, kb, vb, 1, seq + textRows, keys, heads, dim, scale);
            System.arraycopy(o, 0, imageOut, b * seq * row, seq * row);
            System.arraycopy(o, seq * row, textOut, b * textRows * row, textRows * row);
        }
        return new double[][] {imageOut, textOut};
    }

    private static void requireLength(String name, float[] a, long expected, String formula) {
        if (a.length != expected) {
            throw new InvalidArgumentException(name + " holds " + a.length + " values, not " + formula + " = " + expected);
        }
    }

    /**
     * {@code ||out - ref|| / ||ref||}, with the all-zero cases made explicit: 0 when both {@code ref} and
     * {@code out} are all zeros (an exact match, e.g. fully masked rows), {@code +Infinity} when only
     * {@code ref} is.
     *
     * @param out the output checked
     * @param ref the reference, as long as {@code out}
     * @return the relative L2 error; {@code +Infinity} when a value is NaN or only {@code ||ref||} is 0
     * @throws InvalidArgumentException if the lengths differ
     */
    public static double relativeError(float[] out, double[] ref) {
        if (out.length != ref.length) {
            throw new InvalidArgumentException(out.length + " outputs for " + ref.length + " reference values");
        }
        double num = 0;
        double den = 0;
        for (int i = 0; i < out.length; i++) {
            double d = out[i] - ref[i];
            num += d * d;
            den += ref[i] * ref[i];
        }
        if (den == 0 && num == 0) {
            return 0; // both all zeros: an exact match, not 0/0
        }
        double e = Math.sqrt(num / den);
        return Double.isNaN(e) ? Double.POSITIVE_INFINITY : e;
    }
}
