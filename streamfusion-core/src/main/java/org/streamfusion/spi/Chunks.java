package org.streamfusion.spi;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.streamfusion.DType;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.TensorView;

/**
 * {@code count} packed {@code [B, rows, heads, D]} chunks back to back in one buffer. This is the layout
 * every all-to-all in the library receives into: chunk {@code j} is what member {@code j} sent, and the
 * fused kernel consumes the chunks where they lie, so nothing is ever unpacked into one long sequence.
 *
 * <p>With shards of unequal length every chunk is {@code rows} long (the longest shard's) but chunk {@code i}
 * holds only {@code valid[i]} real rows, its first ones: {@link #chunk} views just those, so the kernels never
 * read the padding, while transfers move whole chunks (docs/algorithms.md, section 3.6).
 *
 * @param valid the real rows of each chunk, or {@code null} when every chunk is full
 */
public record Chunks(Buffer buffer, int count, int batch, int rows, int heads, int dim, int[] valid) {
    public Chunks {
        if (count <= 0) {
            throw new InvalidArgumentException("no chunks");
        }
        if (valid != null) {
            if (valid.length != count) {
                throw new InvalidArgumentException(valid.length + " valid row counts for " + count + " chunks");
            }
            for (int v : valid) {
                if (v < 1 || v > rows) {
                    throw new InvalidArgumentException("a chunk of " + rows + " rows with " + v + " valid rows");
                }
            }
            valid = valid.clone();
        }
        if (buffer.length() < (long) count * batch * rows * heads * dim) {
            throw new InvalidArgumentException("buffer of " + buffer.length() + " elements is too small for " + count
                    + " chunks of [" + batch + ", " + rows + ", " + heads + ", " + dim + "]");
        }
    }

    /** Allocates room for {@code count} chunks. */
    public static Chunks allocate(DeviceArena arena, boolean symmetric, DType dtype, int count,
            int batch, int rows, int heads, int dim) {
        long n = (long) count * batch * rows * heads * dim;
        Buffer b = symmetric ? arena.allocateSymmetric(n, dtype) : arena.allocate(n, dtype);
        return new Chunks(b, count, batch, rows, heads, dim, null);
    }

    /** Full chunks: every row real. */
    public Chunks(Buffer buffer, int count, int batch, int rows, int heads, int dim) {
        this(buffer, count, batch, rows, heads, dim, null);
    }

    /** The same chunks with {@code validRows[i]} real rows in chunk {@code i}. */
    public Chunks withValidRows(int[] validRows) {
        return new Chunks(buffer, count, batch, rows, heads, dim, validRows);
    }

    /** Real rows of chunk {@code i}. */
    public int validRows(int i) {
        return valid == null ? rows : valid[i];
    }

    @Override
    public int[] valid() {
        return valid == null ? null : valid.clone();
    }

    /** Elements of one token's row: its heads times D. */
    public int rowElements() {
        return heads * dim;
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
            throw new InvalidArgumentException("chunk " + i + " of " + count);
        }
        return buffer.slice(i * chunkElements(), chunkElements());
    }

    /** Chunk {@code i}'s real rows, as a view with the chunk's full strides. */
    public TensorView chunk(int i) {
        long headStride = dim;
        long rowStride = headStride * heads;
        return new TensorView(chunkBuffer(i), batch, validRows(i), heads, dim, rowStride * rows, rowStride, headStride);
    }

    /** Chunks {@code [from, from+n)} as their own {@code Chunks}. */
    public Chunks range(int from, int n) {
        if (from < 0 || n <= 0 || from + n > count) {
            throw new InvalidArgumentException("chunks [" + from + ", " + (from + n) + ") of " + count);
        }
        return new Chunks(buffer.slice(from * chunkElements(), n * chunkElements()), n, batch, rows, heads, dim,
                valid == null ? null : Arrays.copyOfRange(valid, from, from + n));
    }

    /** The same layout over another buffer of the same size (a ring buffer slot, a peer's copy). */
    public Chunks over(Buffer other) {
        return new Chunks(other, count, batch, rows, heads, dim, valid);
    }

    public List<TensorView> views() {
        List<TensorView> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(chunk(i));
        }
        return out;
    }
}
