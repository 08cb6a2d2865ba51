package org.streamfusion.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.streamfusion.DType;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.ProcessGroup;
import org.streamfusion.Topology;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Event;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.spi.Communicator;
import org.streamfusion.spi.Kernels;
import org.streamfusion.spi.RankBackend;
import org.streamfusion.spi.StatePrecision;
import org.streamfusion.spi.Team;
import org.streamfusion.spi.TransferChecks;

/** One in-process rank of a {@link CpuWorld}. */
@SuppressWarnings("exports") // RankBackend is the library's inside; callers hold it as a RankDevice
public final class CpuRankDevice implements RankBackend {
    private final CpuFabric fabric;
    private final int rank;
    private final WorkerThreads threads;
    private final CpuKernels kernels;
    private final CpuCommunicator communicator;
    private final List<CpuArena> arenas = new ArrayList<>();
    private long streamSeed;

    CpuRankDevice(CpuFabric fabric, int rank, WorkerThreads threads, ComputePool pool) {
        this.fabric = fabric;
        this.kernels = new CpuKernels(pool);
        this.rank = rank;
        this.threads = threads;
        this.communicator = new CpuCommunicator();
        this.streamSeed = fabric.options.seed() * 7919 + rank;
        fabric.registerStreams(rank, this::streamsIdle);
    }

    /** Whether every stream of every open arena has finished what was enqueued on it. */
    private synchronized boolean streamsIdle() {
        for (CpuArena a : arenas) {
            if (!a.streamsIdle()) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public Topology topology() {
        return fabric.topology;
    }

    @Override
    @SuppressWarnings("exports") // the type is the library's inside: exported to the bench module only
    public Communicator communicator() {
        return communicator;
    }

    @Override
    @SuppressWarnings("exports")
    public Class<CpuBuffer> bufferType() {
        return CpuBuffer.class;
    }

    @Override
    @SuppressWarnings("exports")
    public Kernels kernels() {
        return kernels;
    }

    @Override
    public DType storageType(DType requested) {
        return DType.F32;
    }

    @Override
    public synchronized DeviceArena newArena() {
        CpuArena a = new CpuArena();
        arenas.add(a);
        return a;
    }

    /**
     * The caller's host memory (native, fp32) as a packed {@code [B, S_local, H, D]} tensor, without a copy: the
     * CPU form of {@code CudaRankDevice.wrap} (docs/embedding.md). The caller keeps the memory alive while a layer
     * that uses it can run.
     *
     * @param memory native, shared (not thread-confined), 4-byte aligned memory holding the whole tensor
     * @param batch  batches {@code B}, at least 1
     * @param rows   rows of this rank's shard {@code S_local}, at least 1
     * @param heads  heads {@code H}, at least 1
     * @param dim    elements per head {@code D}, at least 1
     * @return a view of {@code memory} on this rank
     * @throws org.streamfusion.InvalidConfigurationException naming the value and the rule
     */
    public TensorView wrap(MemorySegment memory, int batch, int rows, int heads, int dim) {
        long rowStride = (long) heads * dim;
        return wrap(memory, batch, rows, heads, dim, rowStride * rows, rowStride, dim);
    }

    /**
     * The same with the caller's strides, in elements ({@code D} contiguous).
     *
     * @param memory      native, shared (not thread-confined), 4-byte aligned memory holding the whole tensor
     * @param batch       batches {@code B}, at least 1
     * @param rows        rows of this rank's shard {@code S_local}, at least 1
     * @param heads       heads {@code H}, at least 1
     * @param dim         elements per head {@code D}, at least 1
     * @param batchStride elements from one batch to the next, at least 0
     * @param rowStride   elements from one row to the next, at least 0
     * @param headStride  elements from one head to the next, at least 0; no two elements may share memory
     * @return a view of {@code memory} on this rank
     * @throws org.streamfusion.InvalidConfigurationException naming the value and the rule
     */
    public TensorView wrap(MemorySegment memory, int batch, int rows, int heads, int dim, long batchStride,
            long rowStride, long headStride) {
        return HostTensors.wrap(memory, rank, batch, rows, heads, dim, batchStride, rowStride, headStride);
    }

    /**
     * Arenas still open (leak checks). A closed arena leaves the list, so a long-lived rank holds nothing of
     * it.
     *
     * @return the number of arenas made by {@link #newArena()} and not yet closed
     */
    public synchronized int openArenas() {
        return arenas.size();
    }

    private synchronized void forget(CpuArena arena) {
        arenas.remove(arena);
    }

    void closeAll() {
        List<CpuArena> open;
        synchronized (this) {
            open = List.copyOf(arenas);
        }
        for (CpuArena a : open) {
            a.close();
        }
    }

    /**
     * Memory, streams and events with one lifetime. Freeing symmetric memory is collective. Tensors are fp32
     * whatever type is asked for; the attention state is fp64 ({@link StatePrecision}).
     */
    final class CpuArena implements DeviceArena, StatePrecision {
        private final Arena memory = Arena.ofShared();
        private final List<CpuStream> streams = new ArrayList<>();
        private final List<Integer> symmetric = new ArrayList<>();
        private long heldBytes;
        private boolean closed;

        @Override
        public DType stateType() {
            return DType.F64;
        }

        @Override
        public Buffer allocate(long elements, DType dtype) {
            DType stored = storedType(dtype);
            return new CpuBuffer(poisoned(elements, stored), stored, rank, -1, 0);
        }

        @Override
        public Buffer allocateSymmetric(long elements, DType dtype) {
            DType stored = storedType(dtype);
            MemorySegment seg = poisoned(elements, stored);
            int index = fabric.allocateSymmetric(rank, seg, "symmetric allocation");
            synchronized (this) {
                symmetric.add(index);
            }
            return new CpuBuffer(seg, stored, rank, index, 0);
        }

        private static DType storedType(DType requested) {
            return requested == DType.F64 ? DType.F64 : DType.F32;
        }

        /** NaN-filled (all-ones bytes are NaN in fp32 and fp64), so that a read of memory nothing wrote shows. */
        private MemorySegment poisoned(long elements, DType stored) {
            if (elements <= 0) {
                throw new InvalidConfigurationException("allocation of " + elements + " elements",
                        "elements > 0");
            }
            if (elements > Long.MAX_VALUE / stored.bytes()) {
                throw new InvalidConfigurationException("allocation of " + elements + " " + stored
                        + " elements overflows a byte count", "elements * bytes per element <= 2^63-1");
            }
            long bytes = elements * stored.bytes();
            fabric.memory.reserve(bytes, "rank " + rank + ": allocation of " + elements + " " + stored + " elements");
            MemorySegment seg;
            try {
                seg = memory.allocate(bytes, 64);
            } catch (RuntimeException | OutOfMemoryError e) {
                fabric.memory.release(bytes);
                throw e;
            }
            synchronized (this) {
                heldBytes += bytes;
            }
            return seg.fill((byte) 0xFF);
        }

        @Override
        public synchronized Stream createStream(String name) {
            CpuStream s = new CpuStream(fabric, rank, name, threads, streamSeed++);
            streams.add(s);
            return s;
        }

        synchronized boolean streamsIdle() {
            return streams.stream().allMatch(CpuStream::idle);
        }

        @Override
        public Event createEvent() {
            return new CpuEvent();
        }

        @Override
        public void close() {
            synchronized (this) {
                if (closed) {
                    return;
                }
                closed = true;
            }
            for (CpuStream s : streams) {
                s.close(fabric.timeout().toMillis());
            }
            if (!symmetric.isEmpty() && fabric.failure() == null) {
                // nvshmem_free is collective: no peer may still read this memory.
                fabric.cleanupBarrier(rank, "free symmetric memory");
            }
            for (int index : symmetric) {
                fabric.freeSymmetric(rank, index);
            }
            memory.close();
            synchronized (this) {
                fabric.memory.release(heldBytes);
                heldBytes = 0;
                streams.clear(); // the workers have stopped; drop them with the arena
            }
            forget(this);
        }
    }

    private final class CpuCommunicator implements Communicator {
        @Override
        public int rank() {
            return rank;
        }

        @Override
        public int worldSize() {
            return fabric.worldSize;
        }

        @Override
        public Team team(ProcessGroup group) {
            for (int r : group.ranks()) {
                fabric.checkPeer(r, rank, "team " + group);
            }
            return () -> group;
        }

        @Override
        public void scatterPush(List<Buffer> srcs, Buffer dst, int[] pes, Stream stream, String step) {
            TransferChecks.onePerPe(srcs.size(), pes, fabric.worldSize, rank, step);
            TransferChecks.symmetric(dst, step);
            CpuBuffer d = CpuBuffer.of(dst);
            List<CpuBuffer> s = srcs.stream().map(CpuBuffer::of).toList();
            int[] p = pes.clone();
            for (CpuBuffer src : s) {
                TransferChecks.sameSize(src, d, step);
            }
            CpuStream.of(stream).enqueue(step, () -> {
                for (int i = 0; i < p.length; i++) {
                    fabric.put(rank, fabric.resolve(d, p[i]), s.get(i).segment());
                    fabric.count(rank, p[i], s.get(i).segment().byteSize());
                }
            });
        }

        @Override
        public void gatherPull(List<Buffer> dsts, Buffer src, int[] pes, Stream stream, String step) {
            TransferChecks.onePerPe(dsts.size(), pes, fabric.worldSize, rank, step);
            TransferChecks.symmetric(src, step);
            CpuBuffer sb = CpuBuffer.of(src);
            List<CpuBuffer> d = dsts.stream().map(CpuBuffer::of).toList();
            int[] p = pes.clone();
            for (CpuBuffer dst : d) {
                TransferChecks.sameSize(sb, dst, step);
            }
            CpuStream.of(stream).enqueue(step, () -> {
                for (int i = 0; i < p.length; i++) {
                    MemorySegment from = fabric.resolve(sb, p[i]);
                    MemorySegment.copy(from, 0, d.get(i).segment(), 0, from.byteSize());
                    fabric.count(rank, p[i], from.byteSize());
                }
            });
        }

        @Override
        public void barrier(Team team, Stream stream, String step) {
            int[] members = team.group().ranks();
            CpuStream.of(stream).enqueue(step, () -> fabric.barrier(rank, members, step));
        }

        @Override
        public void barrierAll(Stream stream, String step) {
            int[] all = new int[fabric.worldSize];
            Arrays.setAll(all, i -> i);
            CpuStream.of(stream).enqueue(step, () -> fabric.barrier(rank, all, step));
        }

        @Override
        public void exchange(List<Transfer> sends, List<Transfer> recvs, Stream stream, String step) {
            List<Transfer> s = List.copyOf(sends);
            List<Transfer> r = List.copyOf(recvs);
            for (Transfer x : s) {
                CpuBuffer.of(x.buffer());
            }
            for (Transfer x : r) {
                CpuBuffer.of(x.buffer());
            }
            int lane = Communicator.RING_LANE.equals(stream.name()) ? 1 : 0;
            CpuStream.of(stream).enqueue(step, () -> fabric.exchange(rank, s, r, lane, step));
        }
    }
}
