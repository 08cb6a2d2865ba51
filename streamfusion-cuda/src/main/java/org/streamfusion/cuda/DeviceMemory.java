package org.streamfusion.cuda;

import org.streamfusion.InvalidArgumentException;
import org.streamfusion.bindings.cudart.Cudart;
import org.streamfusion.cuda.internal.OutParameter;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A {@code cudaMalloc}'d block: device pointer plus byte size.
 *
 * <p>{@link #segment()} and {@link #slice} are MemorySegments whose address is the device pointer.
 * They are for passing to native calls only: the host must never read or write them. They belong
 * to an arena that {@link #close()} closes before freeing, so a slice used after close fails in
 * Java instead of handing a dangling pointer to CUDA.
 */
public final class DeviceMemory implements AutoCloseable {
    private final Arena arena;
    private final MemorySegment segment;
    private boolean closed;

    private DeviceMemory(Arena arena, MemorySegment segment) {
        this.arena = arena;
        this.segment = segment;
    }

    /**
     * cudaMalloc on the current device.
     *
     * @param bytes the size in bytes, &gt; 0
     * @return the block; {@link #close()} frees it
     * @throws InvalidArgumentException if {@code bytes <= 0}
     */
    public static DeviceMemory allocate(long bytes) {
        if (bytes <= 0) {
            throw new InvalidArgumentException("bytes must be > 0: " + bytes);
        }
        CudaRuntime.library();
        MemorySegment ptr = OutParameter.pointer("cudaMalloc", CudaRuntime::check,
                out -> Cudart.cudaMalloc(out, bytes));
        // Shared: the memory may be used and freed from threads other than the allocating one.
        Arena arena = Arena.ofShared();
        return new DeviceMemory(arena, ptr.reinterpret(bytes, arena, null));
    }

    /** {@return the whole block (device address; never dereference on the host)} */
    public MemorySegment segment() {
        return segment;
    }

    /**
     * A bounds-checked view of {@code [offset, offset + length)}.
     *
     * @param offset the first byte, from the start of the block
     * @param length the view's size in bytes
     * @return the view (device address)
     * @throws InvalidArgumentException if the range is not inside the block
     */
    public MemorySegment slice(long offset, long length) {
        return segment.asSlice(offset, length);
    }

    /** {@return the device pointer as a number} */
    public long address() {
        return segment.address();
    }

    /** {@return the block's size in bytes} */
    public long byteSize() {
        return segment.byteSize();
    }

    /**
     * Copies all of {@code src} (host or device) to the start of this block.
     *
     * @param src a native host segment or a device segment, at most {@link #byteSize()} bytes
     * @throws InvalidArgumentException if {@code src} is larger than the block
     */
    public void copyFrom(MemorySegment src) {
        CudaRuntime.copy(slice(0, src.byteSize()), src);
    }

    /**
     * Copies the start of this block into all of {@code dst}.
     *
     * @param dst a native host segment or a device segment, at most {@link #byteSize()} bytes
     * @throws InvalidArgumentException if {@code dst} is larger than the block
     */
    public void copyTo(MemorySegment dst) {
        CudaRuntime.copy(dst, slice(0, dst.byteSize()));
    }

    /**
     * cudaMemsetAsync of the whole block to {@code value} on {@code stream}.
     *
     * @param value  the byte written to every position
     * @param stream the stream the fill is queued on
     */
    public void fill(byte value, CudaStream stream) {
        fill(segment, value, stream);
    }

    /**
     * cudaMemsetAsync of a device segment (e.g. a {@link #slice}) on {@code stream}.
     *
     * @param device the device segment to fill
     * @param value  the byte written to every position
     * @param stream the stream the fill is queued on, not null
     */
    public static void fill(MemorySegment device, byte value, CudaStream stream) {
        Objects.requireNonNull(stream, "stream");
        CudaRuntime.check("cudaMemsetAsync",
                Cudart.cudaMemsetAsync(device, Byte.toUnsignedInt(value), device.byteSize(), stream.handle()));
    }

    /** Frees the block; later use of its segments throws IllegalStateException. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        MemorySegment ptr = MemorySegment.ofAddress(segment.address());
        arena.close(); // throws, leaving the block allocated, if a native call still uses a slice
        closed = true;
        CudaRuntime.check("cudaFree", Cudart.cudaFree(ptr));
    }

    @Override
    public String toString() {
        return "DeviceMemory[0x" + Long.toHexString(address()) + ", " + byteSize() + " bytes" + (closed ? ", closed]" : "]");
    }
}
