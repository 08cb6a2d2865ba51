package org.streamfusion.spi;

import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.TensorView;
/**
 * The partial attention state of one Q chunk (docs/algorithms.md, section 2): unnormalised output {@code o} (fp32,
 * same shape as the chunk) and the row maximum {@code m} and sum {@code l} (fp32, {@code [B, rows, heads]}).
 */
public record AttentionState(TensorView o, Buffer m, Buffer l) {
    public AttentionState {
        long rows = (long) o.batch() * o.rows() * o.heads();
        if (m.length() < rows || l.length() < rows) {
            throw new IllegalArgumentException("m/l need " + rows + " elements");
        }
    }

    /** Allocates fp32 state for every chunk of a Q chunk set. */
    public static java.util.List<AttentionState> allocate(DeviceArena arena, Chunks q) {
        Chunks o = Chunks.allocate(arena, false, org.streamfusion.DType.F32, q.count(), q.batch(), q.rows(), q.heads(),
                q.dim());
        long per = (long) q.batch() * q.rows() * q.heads();
        Buffer m = arena.allocate(per * q.count(), org.streamfusion.DType.F32);
        Buffer l = arena.allocate(per * q.count(), org.streamfusion.DType.F32);
        java.util.List<AttentionState> out = new java.util.ArrayList<>();
        for (int i = 0; i < q.count(); i++) {
            out.add(new AttentionState(o.chunk(i), m.slice(i * per, per), l.slice(i * per, per)));
        }
        return out;
    }
}
