package org.streamfusion.spi;

import org.streamfusion.InvalidArgumentException;
import org.streamfusion.backend.TensorView;
/** One Q chunk of a fused launch with its state, and where to write {@code O = o/l} when finalising. */
public record QChunk(TensorView q, AttentionState state, TensorView out) {
    public QChunk {
        if (!q.sameShape(state.o())) {
            throw new InvalidArgumentException("state " + state.o().shapeString() + " does not match q " + q.shapeString());
        }
        if (out != null && !q.sameShape(out)) {
            throw new InvalidArgumentException("out " + out.shapeString() + " does not match q " + q.shapeString());
        }
    }
}
