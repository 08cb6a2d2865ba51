package org.streamfusion.gpu;

import java.lang.foreign.MemorySegment;
import java.util.Optional;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.cuda.nvshmem.SymmetricMemory;

/** A block of NVSHMEM's symmetric heap. */
record NvshmemBlock(SymmetricMemory memory) implements SymmetricBlock {
    @Override
    public MemorySegment segment() {
        return memory.segment();
    }

    @Override
    public Optional<MemorySegment> peer(long offset, long length, int pe) {
        return memory.peer(offset, length, pe);
    }

    @Override
    public void put(long dstOffset, MemorySegment src, int pe, CudaStream stream) {
        memory.put(dstOffset, src, pe, stream);
    }

    @Override
    public void get(MemorySegment dst, long srcOffset, int pe, CudaStream stream) {
        memory.get(dst, srcOffset, pe, stream);
    }

    @Override
    public void close() {
        memory.close(); // nvshmem_free: collective
    }
}
