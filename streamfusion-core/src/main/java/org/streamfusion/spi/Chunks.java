package org.streamfusion.spi;

import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.TensorView;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code count} packed {@code [B, rows, heads, D]} chunks back to back in one buffer. This is the layout
 * every all-to-all in the library receives into: chunk {@code j} is what member {@code j} sent, and the
 * fused kernel consumes the chunks where they lie, so nothing is ever unpacked into one long sequence.
 */
public record Chunks(Buffer buffer, int count, int batch, int rows, int heads, int dim) {
    public Chunks {
        if (count <= 0) {
            throw new IllegalArgumentException("no chunks");
        }
        if (buffer.length() < (long) count * batch * rows * heads * dim) {
            throw new IllegalArgumentException("buffer of " + buffer.length() + " elements is too small for " + count
                    + " chunks of [" + batch + ", " + rows + ", " + heads + ", " + dim + "]");
        }
    }

    /** Allocates room for {@code count} chunks. */
    public static Chunks allocate(DeviceArena arena, boolean symmetric, org.streamfusion.DType dtype, int count,
            int batch, int rows, int heads, int dim) {
        long n = (long) count * batch * rows * heads * dim;
        Buffer b = symmetric ? arena.allocateSymmetric(n, dtype) : arena.allocate(n, dtype);
        return new Chunks(b, count, batch, rows, heads, dim);
    }

    public long chunkElements() {
        return (long) batch * rows * heads * dim;
    }

    /** The whole region, {@code count} chunks long. */
    public Buffer region() {
        return buffer.slice(0, count * chunkElements());
    }

    public Buffer chunkBuffer(int i) {
        if (i < 0 || i >= count) {
            throw new IndexOutOfBoundsException("chunk " + i + " of " + count);
        }
        return buffer.slice(i * chunkElements(), chunkElements());
    }

    public TensorView chunk(int i) {
        return TensorView.contiguous(chunkBuffer(i), batch, rows, heads, dim);
    }

    /** Chunks {@code [from, from+n)} as their own {@code Chunks}. */
    public Chunks range(int from, int n) {
        if (from < 0 || n <= 0 || from + n > count) {
            throw new IndexOutOfBoundsException("chunks [" + from + ", " + (from + n) + ") of " + count);
        }
        return new Chunks(buffer.slice(from * chunkElements(), n * chunkElements()), n, batch, rows, heads, dim);
    }

    /** The same layout over another buffer of the same size (a ring buffer slot, a peer's copy). */
    public Chunks over(Buffer other) {
        return new Chunks(other, count, batch, rows, heads, dim);
    }

    public List<TensorView> views() {
        List<TensorView> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(chunk(i));
        }
        return out;
    }
}
