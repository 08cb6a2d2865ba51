package org.streamfusion.cpu;

import java.lang.foreign.MemorySegment;
import org.streamfusion.DType;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.backend.TensorView;

/** The checks that make a caller's host memory a {@link TensorView} of the CPU backend without a copy. */
final class HostTensors {
    /** Never started: only asks whether a segment may be used off its creating thread. */
    private static final Thread ANOTHER_THREAD = Thread.ofVirtual().unstarted(() -> { });

    private HostTensors() {
    }

    static TensorView wrap(MemorySegment memory, int rank, int batch, int rows, int heads, int dim, long batchStride,
            long rowStride, long headStride) {
        if (memory == null) {
            throw new InvalidConfigurationException("memory=null", "a caller's tensor is a segment of native memory");
        }
        if (!memory.isNative()) {
            throw new InvalidConfigurationException("a heap segment (" + memory + ")",
                    "a caller's tensor on the CPU backend is native memory (an Arena's)");
        }
        if (!memory.isAccessibleBy(ANOTHER_THREAD)) {
            throw new InvalidConfigurationException("a segment confined to thread " + Thread.currentThread().getName(),
                    "a caller's tensor on the CPU backend is shared memory (Arena.ofShared, ofAuto or global): its"
                    + " streams are threads");
        }
        if (batch <= 0 || rows <= 0 || heads <= 0 || dim <= 0) {
            throw new InvalidConfigurationException("shape [" + batch + ", " + rows + ", " + heads + ", " + dim + "]",
                    "every extent of [B, S_local, H, D] is positive");
        }
        if (memory.address() % Float.BYTES != 0) {
            throw new InvalidConfigurationException("address 0x" + Long.toHexString(memory.address())
                    + " is not 4-byte aligned", "a caller's fp32 tensor starts on a 4-byte boundary");
        }
        if (batchStride < 0 || rowStride < 0 || headStride < 0) {
            throw new InvalidConfigurationException("strides (" + batchStride + ", " + rowStride + ", " + headStride
                    + ") for D=" + dim, "strides are non-negative");
        }
        long extent = (batch - 1L) * batchStride + (rows - 1L) * rowStride + (heads - 1L) * headStride + dim;
        if (extent * Float.BYTES > memory.byteSize()) {
            throw new InvalidConfigurationException("a [" + batch + ", " + rows + ", " + heads + ", " + dim
                    + "] F32 view needs " + extent * Float.BYTES + " bytes; the memory has " + memory.byteSize(),
                    "the tensor fits its memory");
        }
        CpuBuffer base = new CpuBuffer(memory.asSlice(0, extent * Float.BYTES), DType.F32, rank, -1, 0);
        TensorView view = new TensorView(base, batch, rows, heads, dim, batchStride, rowStride, headStride);
        if (view.selfOverlapping()) {
            throw new InvalidConfigurationException("strides (" + batchStride + ", " + rowStride + ", " + headStride
                    + ") for D=" + dim, "no two elements of a tensor share memory (any nesting of B, S and H; D contiguous)");
        }
        return view;
    }
}
