package org.streamfusion;

import java.util.Arrays;
import java.util.Objects;
import org.streamfusion.backend.TensorView;

/**
 * The second segment of an MMDiT's joint attention (Flux, SD3): {@code S_text} text tokens that every rank
 * holds whole, as {@code [B, S_text, H, D]} Q, K, V and O, attended together with the sharded image tokens
 * (docs/algorithms.md, section 3.7). Every image query also attends to the text keys, and every text query to
 * all image keys and the text keys; O comes back the same on every rank.
 *
 * @param q         text queries, {@code [B, S_text, H, D]}, the same on every rank
 * @param k         text keys, same shape
 * @param v         text values, same shape
 * @param o         where the text output goes, same shape; written the same on every rank
 * @param validRows per batch, the text keys that count ({@code validRows[b]} first rows; padded prompts), or
 *                  {@code null} for all {@code S_text}. Text queries past a batch's valid rows are computed
 *                  like the others (they attend to every image key and the valid text keys); callers ignore
 *                  them. A length of 0 leaves the image keys only.
 */
public record JointText(TensorView q, TensorView k, TensorView v, TensorView o, int[] validRows) {
    /**
     * Checks the tensors are given and copies {@code validRows}.
     *
     * @throws InvalidConfigurationException if a tensor is null, or {@code validRows} does not give each of
     *         {@code q}'s batches 0 to {@code S_text} keys
     */
    public JointText {
        String[] names = {"text q", "text k", "text v", "text o"};
        TensorView[] views = {q, k, v, o};
        for (int i = 0; i < 4; i++) {
            if (views[i] == null) {
                throw new InvalidConfigurationException(names[i] + "=null", "a joint segment has q, k, v and o");
            }
        }
        if (validRows != null) {
            validRows = validRows.clone();
            checkValidRows(validRows, q.batch(), q.rows());
        }
    }

    /**
     * Throws unless {@code validRows} (or {@code null}) gives each of {@code batch} batches
     * 0..{@code textRows} keys.
     *
     * @param validRows valid text keys per batch, or {@code null} for all of them
     * @param batch     batches {@code B}: the length {@code validRows} must have
     * @param textRows  {@code S_text}: the most keys a batch may have
     * @throws InvalidConfigurationException if the length is not {@code batch} or an entry is outside
     *         {@code [0, textRows]}
     */
    public static void checkValidRows(int[] validRows, int batch, int textRows) {
        if (validRows == null) {
            return;
        }
        if (validRows.length != batch) {
            throw new InvalidConfigurationException(validRows.length + " valid text lengths for B=" + batch,
                    "one valid text length per batch");
        }
        for (int b = 0; b < validRows.length; b++) {
            if (validRows[b] < 0 || validRows[b] > textRows) {
                throw new InvalidConfigurationException("valid text length " + validRows[b] + " of batch " + b
                        + " outside [0, S_text=" + textRows + "]", "0 <= valid text length <= S_text");
            }
        }
    }

    /**
     * Every text key counts.
     *
     * @param q text queries, {@code [B, S_text, H, D]}, the same on every rank
     * @param k text keys, same shape
     * @param v text values, same shape
     * @param o where the text output goes, same shape
     * @return the segment, with {@code validRows} null
     * @throws InvalidConfigurationException if a tensor is null
     */
    public static JointText of(TensorView q, TensorView k, TensorView v, TensorView o) {
        return new JointText(q, k, v, o, null);
    }

    /**
     * The valid text keys of batch {@code b}.
     *
     * @param b batch index, {@code 0 <= b < B}
     * @return how many of the first text keys count: {@code S_text} when {@code validRows} is null
     */
    public int validRows(int b) {
        return validRows == null ? q.rows() : validRows[b];
    }

    /** {@return a copy of the valid text keys per batch, or {@code null} when every key counts} */
    @Override
    public int[] validRows() {
        return validRows == null ? null : validRows.clone();
    }

    /**
     * {@return whether {@code other} is a segment with equal tensors and the same valid rows, compared by
     * content (a record's own equals would compare the array by identity)}
     *
     * @param other the object to compare with
     */
    @Override
    public boolean equals(Object other) {
        return other instanceof JointText t && q.equals(t.q) && k.equals(t.k) && v.equals(t.v) && o.equals(t.o)
                && Arrays.equals(validRows, t.validRows);
    }

    /** {@return a hash of the tensors and of the valid rows' content} */
    @Override
    public int hashCode() {
        return Objects.hash(q, k, v, o, Arrays.hashCode(validRows));
    }

    /** {@return the record's form, with the valid rows' content rather than the array's identity} */
    @Override
    public String toString() {
        return "JointText[q=" + q + ", k=" + k + ", v=" + v + ", o=" + o + ", validRows="
                + Arrays.toString(validRows) + "]";
    }
}
