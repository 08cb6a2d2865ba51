package org.streamfusion.spi;

import org.streamfusion.InvalidArgumentException;
import org.streamfusion.backend.TensorView;
/** One (K, V) chunk pair of a fused launch: same batch, rows, heads and width. */
public record KvChunk(TensorView k, TensorView v) {
    public KvChunk {
        if (!k.sameShape(v)) {
            throw new InvalidArgumentException("k " + k.shapeString() + " and v " + v.shapeString() + " differ");
        }
    }
}
