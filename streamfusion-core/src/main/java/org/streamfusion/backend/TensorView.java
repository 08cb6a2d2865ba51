package org.streamfusion.backend;

import java.util.Arrays;
import java.util.Comparator;
import org.streamfusion.InvalidArgumentException;

/**
 * A {@code [B, rows, heads, D]} view of a buffer whose element {@code [0,0,0,0]} is the buffer's first
 * element, with its own batch, row and head strides (in elements; {@code D} is contiguous).
 *
 * @param base        the buffer holding the elements, at least as long as the view's extent
 * @param batch       batches {@code B}, at least 1
 * @param rows        rows (tokens) per batch, at least 1
 * @param heads       heads per row, at least 1
 * @param dim         elements per head {@code D}, at least 1, contiguous
 * @param batchStride elements from one batch to the next
 * @param rowStride   elements from one row to the next
 * @param headStride  elements from one head to the next
 */
public record TensorView(Buffer base, int batch, int rows, int heads, int dim, long batchStride, long rowStride,
        long headStride) {

    /**
     * Checks the view against its buffer.
     *
     * @throws InvalidArgumentException if a dimension is below 1 or the view passes the end of {@code base}
     */
    public TensorView {
        if (batch <= 0 || rows <= 0 || heads <= 0 || dim <= 0) {
            throw new InvalidArgumentException("empty view " + batch + "x" + rows + "x" + heads + "x" + dim);
        }
        long extent = (batch - 1) * batchStride + (rows - 1) * rowStride + (heads - 1) * headStride + dim;
        if (extent > base.length()) {
            throw new InvalidArgumentException("view " + batch + "x" + rows + "x" + heads + "x" + dim + " needs "
                    + extent + " elements, buffer has " + base.length());
        }
    }

    /**
     * A packed {@code [B, rows, heads, D]} tensor at the start of {@code base}.
     *
     * @param base  the buffer, at least {@code batch * rows * heads * dim} elements long
     * @param batch batches, at least 1
     * @param rows  rows per batch, at least 1
     * @param heads heads per row, at least 1
     * @param dim   elements per head, at least 1
     * @return the view, over the first {@code batch * rows * heads * dim} elements of {@code base}
     * @throws InvalidArgumentException if {@code base} is too short
     * @throws InvalidArgumentException if a dimension is 0
     */
    public static TensorView contiguous(Buffer base, int batch, int rows, int heads, int dim) {
        long hs = dim;
        long rs = hs * heads;
        long bs = rs * rows;
        return new TensorView(base.slice(0, bs * batch), batch, rows, heads, dim, bs, rs, hs);
    }

    /**
     * Heads {@code [first, first+count)} of this view, same rows.
     *
     * @param first first head, at least 0
     * @param count heads, at least 1; {@code first + count <= heads()}
     * @return a view with {@code count} heads and the same strides, over a slice of {@link #base()}
     * @throws InvalidArgumentException if the heads lie outside this view
     */
    public TensorView headSlice(int first, int count) {
        if (first < 0 || count <= 0 || first + count > heads) {
            throw new InvalidArgumentException("heads [" + first + ", " + (first + count) + ") outside [0, " + heads + ")");
        }
        long start = first * headStride;
        long extent = (batch - 1) * batchStride + (rows - 1) * rowStride + (count - 1) * headStride + dim;
        return new TensorView(base.slice(start, extent), batch, rows, count, dim, batchStride, rowStride, headStride);
    }

    /**
     * Batch {@code b} of this view, with its first {@code rows} rows: {@code [1, rows, heads, D]}.
     *
     * @param b    the batch, {@code 0 <= b < batch()}
     * @param rows rows to keep, {@code 1 <= rows <= rows()}
     * @return a view of one batch with the same strides, over a slice of {@link #base()}
     * @throws InvalidArgumentException if {@code b} or {@code rows} is out of range
     */
    public TensorView batchSlice(int b, int rows) {
        if (b < 0 || b >= batch || rows <= 0 || rows > this.rows) {
            throw new InvalidArgumentException("batch " + b + ", rows " + rows + " of " + shapeString());
        }
        long extent = (rows - 1) * rowStride + (heads - 1) * headStride + dim;
        return new TensorView(base.slice(b * batchStride, extent), 1, rows, heads, dim, batchStride, rowStride, headStride);
    }

    /**
     * Rows {@code [first, first + count)} of this view, every batch and head.
     *
     * @param first first row, at least 0
     * @param count rows, at least 1; {@code first + count <= rows()}
     * @return a view with {@code count} rows and the same strides, over a slice of {@link #base()}
     * @throws InvalidArgumentException if the rows lie outside this view
     */
    public TensorView rowSlice(int first, int count) {
        if (first < 0 || count <= 0 || first + count > rows) {
            throw new InvalidArgumentException("rows [" + first + ", " + (first + count) + ") outside [0, " + rows + ")");
        }
        long extent = (batch - 1) * batchStride + (count - 1) * rowStride + (heads - 1) * headStride + dim;
        return new TensorView(base.slice(first * rowStride, extent), batch, count, heads, dim, batchStride, rowStride,
                headStride);
    }

    /**
     * Whether two elements of this view share memory: with the dimensions of more than one entry ordered by
     * stride, some stride is smaller than the extent of the dimensions inside it ({@code D} contiguous
     * innermost). Any nesting passes, {@code [B, H, S, D]} memory viewed as {@code [B, S, H, D]} included.
     *
     * @return true if some memory element belongs to two elements of the view
     */
    public boolean selfOverlapping() {
        return selfOverlapping(batch, rows, heads, dim, batchStride, rowStride, headStride);
    }

    /**
     * {@link #selfOverlapping()} of a layout, before any buffer holds it.
     *
     * @param batch       batches
     * @param rows        rows per batch
     * @param heads       heads per row
     * @param dim         elements per head, contiguous
     * @param batchStride elements from one batch to the next
     * @param rowStride   elements from one row to the next
     * @param headStride  elements from one head to the next
     * @return true if two elements of the layout share memory
     */
    public static boolean selfOverlapping(int batch, int rows, int heads, int dim, long batchStride, long rowStride,
            long headStride) {
        long[][] dims = {{heads, headStride}, {rows, rowStride}, {batch, batchStride}};
        Arrays.sort(dims, Comparator.comparingLong(x -> x[1]));
        long extent = dim;
        for (long[] x : dims) {
            if (x[0] <= 1) {
                continue;
            }
            if (x[1] < extent) {
                return true;
            }
            extent = x[1] * (x[0] - 1) + extent;
        }
        return false;
    }

    /** {@return the element count {@code B * rows * heads * D}, not the extent in memory} */
    public long elements() {
        return (long) batch * rows * heads * dim;
    }

    /**
     * Offset of element {@code [b, s, h, 0]} inside {@link #base()}.
     *
     * @param b batch, {@code 0 <= b < batch()}
     * @param s row, {@code 0 <= s < rows()}
     * @param h head, {@code 0 <= h < heads()}
     * @return the offset in elements; not checked against the view's bounds
     */
    public long offset(int b, int s, int h) {
        return b * batchStride + s * rowStride + h * headStride;
    }

    /**
     * Whether {@code o} has this view's dimensions, whatever its strides.
     *
     * @param o another view
     * @return true if batch, rows, heads and dim are all equal
     */
    public boolean sameShape(TensorView o) {
        return batch == o.batch && rows == o.rows && heads == o.heads && dim == o.dim;
    }

    /** {@return the dimensions as {@code "[B, rows, heads, D]"}, for messages} */
    public String shapeString() {
        return "[" + batch + ", " + rows + ", " + heads + ", " + dim + "]";
    }
}
