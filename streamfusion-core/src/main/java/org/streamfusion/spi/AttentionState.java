package org.streamfusion.spi;

import java.util.ArrayList;
import java.util.List;
import org.streamfusion.DType;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.TensorView;
/**
 * The partial attention state of one Q chunk (docs/algorithms.md, section 2): unnormalised output {@code o} (same
 * shape as the chunk) and the row maximum {@code m} and sum {@code l} ({@code [B, rows, heads]}). fp32 on the GPU,
 * fp64 on the CPU reference backend (its arena is a {@link StatePrecision}).
 */
public record AttentionState(TensorView o, Buffer m, Buffer l) {
    public AttentionState {
        long rows = (long) o.batch() * o.rows() * o.heads();
        if (m.length() < rows || l.length() < rows) {
            throw new InvalidArgumentException("m/l need " + rows + " elements");
        }
    }

    /** Batch {@code b} of this state, as the kernels lay {@code m} and {@code l} out ({@code [B, rows, heads]} packed). */
    public AttentionState batchSlice(int b) {
        long per = (long) o.rows() * o.heads();
        return new AttentionState(o.batchSlice(b, o.rows()), m.slice(b * per, per), l.slice(b * per, per));
    }

    /** Allocates the state for every chunk of a Q chunk set, in the arena's state type (fp32 unless it says). */
    public static List<AttentionState> allocate(DeviceArena arena, Chunks q) {
        return allocate(arena, q.count(), q.batch(), q.rows(), q.heads(), q.dim(), q.valid());
    }

    /**
     * The same for {@code count} Q chunks of {@code [batch, rows, heads, dim]} whose real rows are {@code valid}
     * ({@code null}: all), when the Q chunks themselves are not the library's (a caller's tensor read in place).
     */
    public static List<AttentionState> allocate(DeviceArena arena, int count, int batch, int rows, int heads,
            int dim, int[] valid) {
        DType type = arena instanceof StatePrecision p ? p.stateType() : DType.F32;
        Chunks o = Chunks.allocate(arena, false, type, count, batch, rows, heads, dim).withValidRows(valid);
        long per = (long) batch * rows * heads;
        Buffer m = arena.allocate(per * count, type);
        Buffer l = arena.allocate(per * count, type);
        List<AttentionState> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(new AttentionState(o.chunk(i), m.slice(i * per, per), l.slice(i * per, per)));
        }
        return out;
    }
}
