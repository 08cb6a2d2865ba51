package org.streamfusion.cpu;

import java.lang.foreign.MemorySegment;
import org.streamfusion.DType;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.backend.TensorView;
import org.streamfusion.spi.CallerLayout;

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
        if (memory.address() % Float.BYTES != 0) {
            throw new InvalidConfigurationException("address 0x" + Long.toHexString(memory.address())
                    + " is not 4-byte aligned", "a caller's fp32 tensor starts on a 4-byte boundary");
        }
        long bytes = CallerLayout.bytes(memory, DType.F32, batch, rows, heads, dim, batchStride, rowStride, headStride);
        CpuBuffer base = new CpuBuffer(memory.asSlice(0, bytes), DType.F32, rank, -1, 0);
        return new TensorView(base, batch, rows, heads, dim, batchStride, rowStride, headStride);
    }
}
