package org.streamfusion;

import org.streamfusion.backend.TensorView;

/**
 * The second segment of an MMDiT's joint attention (Flux, SD3): {@code S_text} text tokens that every rank
 * holds whole, as {@code [B, S_text, H, D]} Q, K, V and O, attended together with the sharded image tokens
 * (docs/algorithms.md, section 3.7). Every image query also attends to the text keys, and every text query to
 * all image keys and the text keys; O comes back the same on every rank.
 *
 * @param validRows per batch, the text keys that count ({@code validRows[b]} first rows; padded prompts), or
 *                  {@code null} for all {@code S_text}. Text queries past a batch's valid rows are computed
 *                  like the others (they attend to every image key and the valid text keys); callers ignore
 *                  them. A length of 0 leaves the image keys only.
 */
public record JointText(TensorView q, TensorView k, TensorView v, TensorView o, int[] validRows) {
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

    /** Throws unless {@code validRows} (or {@code null}) gives each of {@code batch} batches 0..{@code textRows} keys. */
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

    /** Every text key counts. */
    public static JointText of(TensorView q, TensorView k, TensorView v, TensorView o) {
        return new JointText(q, k, v, o, null);
    }

    /** The valid text keys of batch {@code b}. */
    public int validRows(int b) {
        return validRows == null ? q.rows() : validRows[b];
    }

    @Override
    public int[] validRows() {
        return validRows == null ? null : validRows.clone();
    }
}
