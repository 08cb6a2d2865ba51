package org.streamfusion.gpu;

import java.lang.foreign.MemorySegment;
import java.util.Optional;
import org.streamfusion.DType;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.backend.Buffer;
import org.streamfusion.spi.BackendBuffer;
import org.streamfusion.spi.TransferChecks;

/**
 * Elements in device memory: a segment whose address is the device pointer (never dereferenced from
 * Java). A symmetric buffer also knows its symmetric block and its byte offset in it.
 */
final class GpuBuffer implements BackendBuffer {
    private final MemorySegment segment;
    private final DType dtype;
    private final SymmetricBlock symmetric;
    private final long symmetricOffset;

    GpuBuffer(MemorySegment segment, DType dtype, SymmetricBlock symmetric, long symmetricOffset) {
        this.segment = segment;
        this.dtype = dtype;
        this.symmetric = symmetric;
        this.symmetricOffset = symmetricOffset;
    }

    /** {@return the device address range} */
    public MemorySegment segment() {
        return segment;
    }

    @Override
    public Optional<MemorySegment> memory() {
        return Optional.of(segment);
    }

    SymmetricBlock symmetricBlock() {
        return symmetric;
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
        return symmetric != null;
    }

    @Override
    public GpuBuffer slice(long offset, long length) {
        if (offset < 0 || length < 0 || offset + length > length()) {
            throw new InvalidArgumentException("slice [" + offset + ", " + (offset + length) + ") of " + length());
        }
        long b = dtype.bytes();
        return new GpuBuffer(segment.asSlice(offset * b, length * b), dtype, symmetric, symmetricOffset + offset * b);
    }

    @Override
    public String toString() {
        return "GpuBuffer[0x" + Long.toHexString(segment.address()) + ", " + length() + " x " + dtype
                + (symmetric != null ? ", symmetric" : "") + "]";
    }

    @Override
    public boolean overlaps(Buffer other) {
        return other instanceof GpuBuffer o && TransferChecks.overlap(segment, o.segment);
    }
}
