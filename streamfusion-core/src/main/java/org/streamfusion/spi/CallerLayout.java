package org.streamfusion.spi;

import java.lang.foreign.MemorySegment;
import org.streamfusion.DType;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.backend.TensorView;

/**
 * The layout rules both backends apply to a caller's tensor before wrapping it (docs/embedding.md): positive
 * extents, non-negative strides, no two elements sharing memory, and memory large enough.
 */
public final class CallerLayout {
    private CallerLayout() {
    }

    /** The bytes a {@code [batch, rows, heads, dim]} view of {@code dtype} with these strides spans in {@code memory}. */
    public static long bytes(MemorySegment memory, DType dtype, int batch, int rows, int heads, int dim, long batchStride,
            long rowStride, long headStride) {
        if (batch <= 0 || rows <= 0 || heads <= 0 || dim <= 0) {
            throw new InvalidConfigurationException("shape [" + batch + ", " + rows + ", " + heads + ", " + dim + "]",
                    "every extent of [B, S_local, H, D] is positive");
        }
        String strides = "strides (" + batchStride + ", " + rowStride + ", " + headStride + ") for D=" + dim + " in ["
                + batch + ", " + rows + ", " + heads + ", " + dim + "]";
        if (batchStride < 0 || rowStride < 0 || headStride < 0) {
            throw new InvalidConfigurationException(strides, "strides are non-negative");
        }
        if (TensorView.selfOverlapping(batch, rows, heads, dim, batchStride, rowStride, headStride)) {
            throw new InvalidConfigurationException(strides,
                    "no two elements of a tensor share memory (any nesting of B, S and H; D contiguous)");
        }
        long extent = (batch - 1L) * batchStride + (rows - 1L) * rowStride + (heads - 1L) * headStride + dim;
        long need = extent * dtype.bytes();
        if (need > memory.byteSize()) {
            throw new InvalidConfigurationException("a [" + batch + ", " + rows + ", " + heads + ", " + dim + "] " + dtype
                    + " view with " + strides + " needs " + need + " bytes; the memory has " + memory.byteSize()
                    + " (at 0x" + Long.toHexString(memory.address()) + ")", "the tensor fits its memory");
        }
        return need;
    }
}
