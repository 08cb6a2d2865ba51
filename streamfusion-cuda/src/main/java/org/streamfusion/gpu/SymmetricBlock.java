package org.streamfusion.gpu;

import java.lang.foreign.MemorySegment;
import java.util.Optional;
import org.streamfusion.cuda.CudaStream;

/**
 * One rank's part of a symmetric allocation: the same bytes exist on every rank, allocated and freed
 * collectively. NVSHMEM's heap across processes ({@code JobTransport}), or the blocks of the ranks of an
 * in-process world ({@code LocalTransport}).
 */
interface SymmetricBlock extends AutoCloseable {
    /** {@return this rank's bytes} */
    MemorySegment segment();

    /**
     * {@return the bytes {@code [offset, offset + length)} of this block on {@code pe} as an address this GPU can
     * load from and store to, or empty where the PE is reachable only through the transport's own copies}
     */
    Optional<MemorySegment> peer(long offset, long length, int pe);

    /** Writes all of {@code src} at {@code dstOffset} of this block on {@code pe}, ordered on {@code stream}. */
    void put(long dstOffset, MemorySegment src, int pe, CudaStream stream);

    /** Reads {@code dst.byteSize()} bytes at {@code srcOffset} of this block on {@code pe}, ordered on {@code stream}. */
    void get(MemorySegment dst, long srcOffset, int pe, CudaStream stream);

    /** Frees this rank's part, collectively as the allocation was. Idempotent. */
    @Override
    void close();
}
