package org.streamfusion.cuda.nvshmem;

import org.streamfusion.InvalidArgumentException;
import org.streamfusion.bindings.nvshmem.Nvshmem;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.cuda.NvshmemException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Optional;

/**
 * A block of the NVSHMEM symmetric heap ({@code nvshmem_malloc}): the same offsets are valid on
 * every PE, so peers can put into and get from it. Segments are device addresses for native calls
 * only, tied to an arena that {@link #close()} closes before {@code nvshmem_free}.
 */
public final class SymmetricMemory implements AutoCloseable {
    private final Arena arena;
    private final MemorySegment segment;
    private boolean closed;

    private SymmetricMemory(Arena arena, MemorySegment segment) {
        this.arena = arena;
        this.segment = segment;
    }

    static SymmetricMemory allocate(long bytes) {
        if (bytes <= 0) {
            throw new InvalidArgumentException("bytes must be > 0: " + bytes);
        }
        MemorySegment ptr = Nvshmem.nvshmem_malloc(bytes);
        if (ptr.equals(MemorySegment.NULL)) {
            throw new NvshmemException("nvshmem_malloc", Nvshmem.NVSHMEMX_ERROR_OUT_OF_MEMORY(),
                    "returned NULL for " + bytes + " bytes (symmetric heap too small? see NVSHMEM_SYMMETRIC_SIZE)");
        }
        Arena arena = Arena.ofShared();
        return new SymmetricMemory(arena, ptr.reinterpret(bytes, arena, null));
    }

    public MemorySegment segment() {
        return segment;
    }

    public MemorySegment slice(long offset, long length) {
        return segment.asSlice(offset, length);
    }

    public long byteSize() {
        return segment.byteSize();
    }

    /**
     * {@code nvshmem_ptr}: the bytes {@code [offset, offset + length)} of this block on {@code pe} as an
     * address this GPU can load from and store to (NVLink peer mapping, or the local block itself), or
     * empty where the PE is reachable only through a network transport.
     */
    public Optional<MemorySegment> peer(long offset, long length, int pe) {
        MemorySegment base = Nvshmem.nvshmem_ptr(segment, pe);
        if (base.equals(MemorySegment.NULL)) {
            return Optional.empty();
        }
        // Same arena as the block: the mapping goes when the block is freed.
        return Optional.of(base.reinterpret(segment.byteSize(), arena, null).asSlice(offset, length));
    }

    /** ScatterPush element: writes all of {@code src} at {@code dstOffset} of this block on {@code pe}. */
    public void put(long dstOffset, MemorySegment src, int pe, CudaStream stream) {
        Nvshmem.nvshmemx_putmem_on_stream(slice(dstOffset, src.byteSize()), src, src.byteSize(), pe, stream.handle());
    }

    /** GatherPull element: reads {@code dst.byteSize()} bytes at {@code srcOffset} of this block on {@code pe}. */
    public void get(MemorySegment dst, long srcOffset, int pe, CudaStream stream) {
        Nvshmem.nvshmemx_getmem_on_stream(dst, slice(srcOffset, dst.byteSize()), dst.byteSize(), pe, stream.handle());
    }

    /**
     * Put, then update the 64-bit signal at {@code signalOffset} of {@code signals} on {@code pe}
     * once the data has landed (nvshmemx_putmem_signal_on_stream).
     */
    public void putWithSignal(long dstOffset, MemorySegment src, SymmetricMemory signals, long signalOffset,
                              long signalValue, SignalOp op, int pe, CudaStream stream) {
        Nvshmem.nvshmemx_putmem_signal_on_stream(slice(dstOffset, src.byteSize()), src, src.byteSize(),
                signals.signalSlot(signalOffset), signalValue, op.nativeValue(), pe, stream.handle());
    }

    /** Work queued on {@code stream} after this waits until the local signal satisfies {@code cmp value}. */
    public void waitSignal(long signalOffset, Compare cmp, long value, CudaStream stream) {
        Nvshmem.nvshmemx_signal_wait_until_on_stream(signalSlot(signalOffset), cmp.nativeValue(), value, stream.handle());
    }

    private MemorySegment signalSlot(long offset) {
        if (offset % Long.BYTES != 0) {
            throw new InvalidArgumentException("signal offset must be 8-byte aligned: " + offset);
        }
        return slice(offset, Long.BYTES);
    }

    /** nvshmem_free: collective, like the allocation. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        MemorySegment ptr = MemorySegment.ofAddress(segment.address());
        arena.close();
        closed = true;
        Nvshmem.nvshmem_free(ptr);
    }

    /** nvshmemx_signal_op_t. */
    public enum SignalOp {
        SET, ADD;

        int nativeValue() {
            return this == SET ? Nvshmem.NVSHMEM_SIGNAL_SET() : Nvshmem.NVSHMEM_SIGNAL_ADD();
        }
    }

    /** NVSHMEM_CMP_*. */
    public enum Compare {
        EQ, NE, GT, LE, LT, GE;

        int nativeValue() {
            return switch (this) {
                case EQ -> Nvshmem.NVSHMEM_CMP_EQ();
                case NE -> Nvshmem.NVSHMEM_CMP_NE();
                case GT -> Nvshmem.NVSHMEM_CMP_GT();
                case LE -> Nvshmem.NVSHMEM_CMP_LE();
                case LT -> Nvshmem.NVSHMEM_CMP_LT();
                case GE -> Nvshmem.NVSHMEM_CMP_GE();
            };
        }
    }
}
