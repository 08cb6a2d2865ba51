package org.streamfusion.backend;

import org.streamfusion.DType;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.spi.BackendBuffer;

/**
 * A range of elements in one rank's memory (device memory for CUDA, off-heap for the CPU backend).
 * Slices share the memory of their parent. A buffer from {@link DeviceArena#allocateSymmetric} and its
 * slices are symmetric: the same slice names the same range on every rank, which is what the one-sided
 * primitives need.
 */
public sealed interface Buffer permits BackendBuffer {
    /**
     * Length in elements.
     *
     * @return the number of elements, at least 0
     */
    long length();

    /** {@return the element type stored} */
    DType dtype();

    /**
     * Whether peers may address this buffer through the one-sided primitives.
     *
     * @return true for a buffer from {@link DeviceArena#allocateSymmetric} or a slice of one
     */
    boolean isSymmetric();

    /**
     * Elements {@code [offset, offset + length)} of this buffer, sharing its memory and symmetry.
     *
     * @param offset first element, in elements from the start of this buffer, at least 0
     * @param length elements in the slice, at least 0; {@code offset + length <= length()}
     * @return the slice
     * @throws InvalidArgumentException if the range does not lie inside this buffer
     */
    Buffer slice(long offset, long length);

    /**
     * Whether this buffer and {@code other} share a byte of memory (buffers of different backends never do).
     *
     * @param other any buffer
     * @return true if at least one byte is in both
     */
    boolean overlaps(Buffer other);

    /** {@return the size in bytes: {@link #length()} times the element size of {@link #dtype()}} */
    default long byteSize() {
        return length() * dtype().bytes();
    }
}
