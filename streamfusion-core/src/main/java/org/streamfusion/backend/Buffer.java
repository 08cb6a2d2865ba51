package org.streamfusion.backend;

import org.streamfusion.DType;

/**
 * A range of elements in one rank's memory (device memory for CUDA, off-heap for the CPU backend).
 * Slices share the memory of their parent. A buffer from {@link DeviceArena#allocateSymmetric} and its
 * slices are symmetric: the same slice names the same range on every rank, which is what the one-sided
 * primitives need.
 */
public sealed interface Buffer permits org.streamfusion.cpu.CpuBuffer, org.streamfusion.gpu.CudaBuffer,
        org.streamfusion.sim.SimBuffer {
    /** Length in elements. */
    long length();

    DType dtype();

    /** Whether peers may address this buffer through the one-sided primitives. */
    boolean isSymmetric();

    Buffer slice(long offset, long length);

    /** Whether this buffer and {@code other} share a byte of memory (buffers of different backends never do). */
    boolean overlaps(Buffer other);

    default long byteSize() {
        return length() * dtype().bytes();
    }
}
