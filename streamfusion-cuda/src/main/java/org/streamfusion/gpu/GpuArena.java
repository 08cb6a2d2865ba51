package org.streamfusion.gpu;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.streamfusion.DType;
import org.streamfusion.InvalidStateException;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Event;
import org.streamfusion.backend.Stream;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.cuda.DeviceMemory;

/** Memory, streams and events of one lifetime on one GPU. Freeing symmetric memory is collective. */
final class GpuArena implements DeviceArena {
    private final RankTransport join;
    private final GpuOptions options;
    private final List<DeviceMemory> memory = new ArrayList<>();
    private final List<SymmetricBlock> symmetric = new ArrayList<>();
    private final List<GpuStream> streams = new ArrayList<>();
    private final List<GpuEvent> events = new ArrayList<>();
    private final CudaStream setup = CudaStream.create(true);
    private boolean closed;

    GpuArena(RankTransport join, GpuOptions options) {
        this.join = join;
        this.options = options;
    }

    @Override
    public synchronized Buffer allocate(long elements, DType dtype) {
        DeviceMemory m = DeviceMemory.allocate(elements * dtype.bytes());
        memory.add(m);
        poison(m.segment());
        return new GpuBuffer(m.segment(), dtype, null, 0);
    }

    @Override
    public synchronized Buffer allocateSymmetric(long elements, DType dtype) {
        // The poison goes in before peers can put (a fill after a peer's put would erase its bytes).
        SymmetricBlock m = join.allocateSymmetric(elements * dtype.bytes(), "symmetric allocation",
                options.poison() ? this::poison : null);
        symmetric.add(m);
        return new GpuBuffer(m.segment(), dtype, m, 0);
    }

    /** All-ones bytes: NaN in bf16, fp16 and fp32. */
    private void poison(MemorySegment segment) {
        if (options.poison()) {
            DeviceMemory.fill(segment, (byte) 0xFF, setup);
            setup.synchronize();
        }
    }

    @Override
    public synchronized Stream createStream(String name) {
        GpuStream s = new GpuStream(name, CudaStream.create(true), join.rank(), options.timeout(),
                join::checkAsyncErrors, join::markFailed);
        streams.add(s);
        return s;
    }

    @Override
    public synchronized Event createEvent() {
        GpuEvent e = new GpuEvent();
        events.add(e);
        return e;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        RuntimeException error = null;
        for (GpuStream s : streams) {
            try {
                s.synchronize("close arena");
            } catch (RuntimeException e) {
                error = error == null ? e : error;
            }
        }
        if (error != null || join.failed()) {
            // Work may still be in flight and peers may never reach nvshmem_free: leave the memory to
            // the process's exit rather than free it under a running kernel or hang in a collective.
            throw error != null ? error : new InvalidStateException("rank " + join.rank() + " failed earlier; "
                    + "its device memory is left to the process's exit");
        }
        events.forEach(GpuEvent::close);
        streams.forEach(GpuStream::close);
        memory.forEach(DeviceMemory::close);
        symmetric.forEach(SymmetricBlock::close); // collective, as the allocation
        setup.close();
    }
}
