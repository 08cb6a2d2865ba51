package org.streamfusion.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Optional;
import org.streamfusion.DType;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.InvalidStateException;
import org.streamfusion.WrongBackendException;
import org.streamfusion.backend.Buffer;
import org.streamfusion.spi.BackendBuffer;
import org.streamfusion.spi.TransferChecks;

/**
 * fp32 elements (fp64 for the attention state, {@link org.streamfusion.spi.AttentionState}) in off-heap memory of one rank. A symmetric buffer also knows its allocation index and
 * offset in the symmetric heap, so that the same slice can be found on any peer.
 */
public final class CpuBuffer implements BackendBuffer {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;
    static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE;

    private final MemorySegment segment;
    private final DType dtype;
    private final int owner;
    private final int symmetricIndex;
    private final long symmetricOffset;

    CpuBuffer(MemorySegment segment, int owner, int symmetricIndex, long symmetricOffset) {
        this(segment, DType.F32, owner, symmetricIndex, symmetricOffset);
    }

    CpuBuffer(MemorySegment segment, DType dtype, int owner, int symmetricIndex, long symmetricOffset) {
        if (dtype != DType.F32 && dtype != DType.F64) {
            throw new InvalidArgumentException("CPU buffers hold F32 or F64 elements, not " + dtype);
        }
        this.segment = segment;
        this.dtype = dtype;
        this.owner = owner;
        this.symmetricIndex = symmetricIndex;
        this.symmetricOffset = symmetricOffset;
    }

    MemorySegment segment() {
        return segment;
    }

    @Override
    public Optional<MemorySegment> memory() {
        return Optional.of(segment);
    }

    int owner() {
        return owner;
    }

    int symmetricIndex() {
        return symmetricIndex;
    }

    long symmetricOffset() {
        return symmetricOffset;
    }

    @Override
    public long length() {
        return segment.byteSize() / dtype.bytes();
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public boolean isSymmetric() {
        return symmetricIndex >= 0;
    }

    @Override
    public CpuBuffer slice(long offset, long length) {
        if (offset < 0 || length < 0 || offset + length > length()) {
            throw new InvalidArgumentException("slice [" + offset + ", " + (offset + length) + ") of " + length());
        }
        return new CpuBuffer(segment.asSlice(offset * dtype.bytes(), length * dtype.bytes()), dtype, owner,
                symmetricIndex, symmetricOffset + offset);
    }

    /**
     * Host write, for inputs; not stream-ordered.
     *
     * @param data one value per element, exactly {@link #length()} of them
     * @throws InvalidArgumentException if {@code data} has another length
     * @throws InvalidStateException if this buffer holds fp64 elements
     */
    public void write(float[] data) {
        requireF32("write");
        if (data.length != length()) {
            throw new InvalidArgumentException(data.length + " values for a buffer of " + length());
        }
        MemorySegment.copy(data, 0, segment, F32, 0, data.length);
    }

    /**
     * Host read, for outputs; synchronise the producing stream first.
     *
     * @return a copy of every element
     * @throws InvalidStateException if this buffer holds fp64 elements
     */
    public float[] read() {
        requireF32("read");
        return segment.toArray(F32);
    }

    private void requireF32(String what) {
        if (dtype != DType.F32) {
            throw new InvalidStateException("host " + what + " of floats from a " + dtype + " buffer");
        }
    }

    static CpuBuffer of(Buffer b) {
        return of(b, "buffer");
    }

    /** {@code b} as a CPU buffer, or a {@link org.streamfusion.WrongBackendException} naming {@code argument}. */
    static CpuBuffer of(Buffer b, String argument) {
        return WrongBackendException.require(CpuBuffer.class, b, argument);
    }

    @Override
    public boolean overlaps(Buffer other) {
        return other instanceof CpuBuffer o && TransferChecks.overlap(segment, o.segment);
    }
}
