package org.streamfusion.sim;

import org.streamfusion.DType;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.WrongBackendException;
import org.streamfusion.backend.Buffer;
import org.streamfusion.spi.BackendBuffer;

/** A buffer of the simulating backend: a size and a type, no memory. Public only for {@link Buffer}'s permits. */
final class SimBuffer implements BackendBuffer {
    private final long length;
    private final DType dtype;
    private final boolean symmetric;

    SimBuffer(long length, DType dtype, boolean symmetric) {
        this.length = length;
        this.dtype = dtype;
        this.symmetric = symmetric;
    }

    @Override
    public long length() {
        return length;
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public boolean isSymmetric() {
        return symmetric;
    }

    @Override
    public SimBuffer slice(long offset, long newLength) {
        if (offset < 0 || newLength < 0 || offset + newLength > length) {
            throw new InvalidArgumentException("slice [" + offset + ", " + (offset + newLength) + ") of " + length);
        }
        return new SimBuffer(newLength, dtype, symmetric);
    }

    static SimBuffer of(Buffer b, String argument) {
        return WrongBackendException.require(SimBuffer.class, b, argument);
    }

    /** Simulated buffers hold no memory; only a buffer overlaps itself. */
    @Override
    public boolean overlaps(Buffer other) {
        return other == this;
    }
}
