package org.streamfusion.gpu;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;
import org.streamfusion.DType;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.LinkClass;
import org.streamfusion.ProcessGroup;
import org.streamfusion.Topology;
import org.streamfusion.backend.Buffer;
import org.streamfusion.spi.Communicator;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Event;
import org.streamfusion.spi.Kernels;
import org.streamfusion.spi.RankBackend;
import org.streamfusion.backend.Stream;
import org.streamfusion.spi.Team;
import org.streamfusion.spi.TransferChecks;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.cuda.DeviceMemory;
import org.streamfusion.cuda.nccl.NcclCommunicator;
import org.streamfusion.cuda.nccl.NcclDataType;
import org.streamfusion.cuda.nvshmem.NvshmemRuntime;
import org.streamfusion.cuda.nvshmem.NvshmemTeam;
import org.streamfusion.cuda.nvshmem.SymmetricMemory;
import org.streamfusion.cuda.sf.SfKernels;
import org.streamfusion.cuda.sf.SfKernels.CopySegment;
import org.streamfusion.launch.DistributedEnvironment;
import org.streamfusion.launch.KeyValueStore;

/**
 * One GPU of a multi-process job, as a {@link RankDevice}: memory, streams and events from the CUDA
 * runtime, the kernels of libstreamfusion, two-sided transfers over NCCL and one-sided ones over
 * NVSHMEM. The schedules run on it unchanged. {@link #join} is collective over all ranks.
 */
@SuppressWarnings("exports") // RankBackend is the library's inside; callers hold it as a RankDevice
public final class CudaRankDevice implements RankBackend, AutoCloseable {
    private final DistributedEnvironment env;
    private final Topology topology;
    private final GpuOptions options;
    private final int device;
    private final KeyValueStore store;
    private final NcclCommunicator nccl;
    /**
     * Two-sided transfers on the {@link Communicator#RING_LANE} stream, since NCCL runs one communicator's
     * work in issue order; {@code nccl} itself when {@link GpuOptions#ringLane()} is off.
     */
    private final NcclCommunicator ringLane;
    private final NvshmemRuntime nvshmem;
    private final CudaKernels kernels = new CudaKernels();
    private final GpuCommunicator communicator = new GpuCommunicator();
    private final List<CudaStream> sideStreams = new ArrayList<>();
    private final List<org.streamfusion.cuda.CudaEvent> sideEvents = new ArrayList<>();
    private org.streamfusion.cuda.CudaEvent forkEvent;
    private final Map<String, Optional<NvshmemTeam>> teams = new HashMap<>();
    private final List<GpuArena> arenas = new ArrayList<>();
    private final LongAdder[] bytes = {new LongAdder(), new LongAdder(), new LongAdder()};
    private final LongAdder[] moverBytes = {new LongAdder(), new LongAdder()};
    private boolean closed;
    /** Set when a host wait failed: collective frees are then skipped, since peers may never join them. */
    private volatile boolean failed;

    private CudaRankDevice(DistributedEnvironment env, Topology topology, GpuOptions options, int device,
            KeyValueStore store, NcclCommunicator nccl, NcclCommunicator ringLane, NvshmemRuntime nvshmem) {
        this.env = env;
        this.topology = topology;
        this.options = options;
        this.device = device;
        this.store = store;
        this.nccl = nccl;
        this.ringLane = ringLane;
        this.nvshmem = nvshmem;
    }

    /**
     * Joins the job described by {@code env}: selects GPU {@code LOCAL_RANK}, exchanges the NCCL and
     * NVSHMEM unique ids through rank 0's store, and initialises both. {@code topology} is the logical
     * {@code M x G} the plans use; it must cover the world.
     */
    public static CudaRankDevice join(DistributedEnvironment env, Topology topology, GpuOptions options) {
        if (topology.worldSize() != env.worldSize()) {
            throw new InvalidConfigurationException("topology " + topology + " has " + topology.worldSize()
                    + " GPUs but the job has WORLD_SIZE=" + env.worldSize(), "M*G == world size");
        }
        CudaRuntime.requireAvailable();
        int count = CudaRuntime.deviceCount();
        if (env.localRank() >= count) {
            throw new InvalidConfigurationException("LOCAL_RANK=" + env.localRank() + " but this host has " + count
                    + " GPUs", "LOCAL_RANK < visible GPUs");
        }
        int device = env.localRank();
        CudaRuntime.setDevice(device);
        CudaRuntime.initContext();
        KeyValueStore store = KeyValueStore.connect(env, options.timeout());
        NcclCommunicator nccl = null;
        NcclCommunicator ringLane = null;
        NvshmemRuntime shmem = null;
        try {
            byte[] ncclId = exchange(store, env, "sf/nccl-unique-id", NcclCommunicator::uniqueId);
            nccl = NcclCommunicator.initRank(env.worldSize(), ncclId, env.rank());
            int rank = env.rank();
            // A second communicator whose kernels may run beside the first's: NCCL's guide warns that
            // concurrent communicators can deadlock when their kernels do not fit on the GPU together
            // (GpuOptions.ringLane = false avoids it).
            ringLane = !options.ringLane() ? nccl : nccl.split(0, rank).orElseThrow(() -> new IllegalStateException(
                    "rank " + rank + ": ncclCommSplit with color 0 gave no communicator for the ring lane"));
            if (options.nvshmem()) {
                byte[] shmemId = exchange(store, env, "sf/nvshmem-unique-id", () -> NvshmemRuntime.uniqueId(device));
                shmem = NvshmemRuntime.init(device, env.rank(), env.worldSize(), shmemId);
            }
            store.barrier("sf/joined", env.worldSize());
            return new CudaRankDevice(env, topology, options, device, store, nccl, ringLane, shmem);
        } catch (RuntimeException | Error e) {
            try {
                store.abort("failed to join: " + e);
            } catch (RuntimeException ignored) {
                // the store may be what failed
            }
            if (shmem != null) {
                shmem.close();
            }
            if (ringLane != null && ringLane != nccl) {
                ringLane.abort();
            }
            if (nccl != null) {
                nccl.abort();
            }
            store.close();
            throw e;
        }
    }

    private static byte[] exchange(KeyValueStore store, DistributedEnvironment env, String key,
            java.util.function.Supplier<byte[]> make) {
        if (env.rank() == 0) {
            byte[] id = make.get();
            store.set(key, id);
            return id;
        }
        return store.get(key);
    }

    @Override
    public int rank() {
        return env.rank();
    }

    @Override
    public Topology topology() {
        return topology;
    }

    public int cudaDevice() {
        return device;
    }

    public KeyValueStore store() {
        return store;
    }

    @Override
    @SuppressWarnings("exports") // the type is the library's inside: exported to the bench module only
    public Communicator communicator() {
        return communicator;
    }

    @Override
    @SuppressWarnings("exports")
    public Kernels kernels() {
        return kernels;
    }

    @Override
    public DType storageType(DType requested) {
        return requested;
    }

    @Override
    public synchronized DeviceArena newArena() {
        if (closed) {
            throw new IllegalStateException("rank device is closed");
        }
        // The CUDA device is per host thread: an arena made on another thread must still land on this GPU.
        CudaRuntime.setDevice(device);
        GpuArena a = new GpuArena();
        arenas.add(a);
        return a;
    }

    /**
     * Bytes of this rank's ScatterPush and GatherPull moved by {@code mover} since it joined: a PE without
     * an NVLink mapping goes to the copy engines (NVSHMEM's own put or get) whatever the option says.
     */
    public long oneSidedBytes(GpuOptions.OneSidedMover mover) {
        return moverBytes[mover.ordinal()].sum();
    }

    /** Bytes this rank initiated over one link class (sends, puts, gets) since it joined. */
    public long bytes(LinkClass c) {
        return bytes[c.ordinal()].sum();
    }

    /**
     * Collective: frees every arena, the teams, NVSHMEM and NCCL, then leaves the store. After a failed
     * host wait it is not collective: it aborts NCCL, tells the other ranks through the store, skips
     * what would wait for them (symmetric frees, NVSHMEM finalize), and releases the rest.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<RuntimeException> errors = new ArrayList<>();
        for (GpuArena a : List.copyOf(arenas)) {
            attempt(errors, a::close);
        }
        teams.values().forEach(t -> t.ifPresent(team -> attempt(errors, team::close)));
        sideStreams.forEach(s -> attempt(errors, s::synchronize));
        sideEvents.forEach(e -> attempt(errors, e::close));
        sideStreams.forEach(s -> attempt(errors, s::close));
        if (forkEvent != null) {
            attempt(errors, forkEvent::close);
        }
        if (!failed) {
            attempt(errors, () -> store.barrier("sf/leave", env.worldSize()));
        }
        if (failed || !errors.isEmpty()) {
            attempt(errors, () -> store.abort("rank " + env.rank() + " failed; closing without its peers"));
            if (ringLane != nccl) {
                attempt(errors, ringLane::abort);
            }
            attempt(errors, nccl::abort);
        } else {
            if (nvshmem != null) {
                attempt(errors, nvshmem::close);
            }
            if (ringLane != nccl) {
                attempt(errors, ringLane::close);
            }
            attempt(errors, nccl::close);
        }
        store.close();
        if (!errors.isEmpty()) {
            RuntimeException first = errors.get(0);
            errors.subList(1, errors.size()).forEach(first::addSuppressed);
            throw first;
        }
    }

    private void attempt(List<RuntimeException> errors, Runnable step) {
        try {
            step.run();
        } catch (RuntimeException e) {
            failed = true;
            errors.add(e);
        }
    }

    private void count(int peer, long n) {
        bytes[topology.linkBetween(env.rank(), peer).ordinal()].add(n);
    }

    private NvshmemRuntime shmem(String step) {
        if (nvshmem == null) {
            throw new IllegalStateException("step '" + step + "' needs the one-sided primitives, but this rank joined"
                    + " without NVSHMEM (GpuOptions.nvshmem = false)");
        }
        return nvshmem;
    }

    /** Memory, streams and events of one lifetime. Freeing symmetric memory is collective. */
    private final class GpuArena implements DeviceArena {
        private final List<DeviceMemory> memory = new ArrayList<>();
        private final List<SymmetricMemory> symmetric = new ArrayList<>();
        private final List<CudaStreamHandle> streams = new ArrayList<>();
        private final List<CudaEventHandle> events = new ArrayList<>();
        private final CudaStream setup = CudaStream.create(true);
        private boolean closed;

        @Override
        public synchronized Buffer allocate(long elements, DType dtype) {
            DeviceMemory m = DeviceMemory.allocate(elements * dtype.bytes());
            memory.add(m);
            poison(m.segment());
            return new CudaBuffer(m.segment(), dtype, null, 0);
        }

        @Override
        public synchronized Buffer allocateSymmetric(long elements, DType dtype) {
            SymmetricMemory m = shmem("symmetric allocation").allocate(elements * dtype.bytes());
            symmetric.add(m);
            poison(m.segment());
            return new CudaBuffer(m.segment(), dtype, m, 0);
        }

        /** All-ones bytes: NaN in bf16, fp16 and fp32. */
        private void poison(MemorySegment seg) {
            if (options.poison()) {
                DeviceMemory.fill(seg, (byte) 0xFF, setup);
                setup.synchronize();
            }
        }

        @Override
        public synchronized Stream createStream(String name) {
            CudaStreamHandle s = new CudaStreamHandle(name, CudaStream.create(true), env.rank(), options.timeout(),
                    () -> {
                        nccl.checkAsyncError();
                        if (ringLane != nccl) {
                            ringLane.checkAsyncError();
                        }
                    }, () -> failed = true);
            streams.add(s);
            return s;
        }

        @Override
        public synchronized Event createEvent() {
            CudaEventHandle e = new CudaEventHandle();
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
            for (CudaStreamHandle s : streams) {
                try {
                    s.synchronize("close arena");
                } catch (RuntimeException e) {
                    error = error == null ? e : error;
                }
            }
            if (error != null || failed) {
                // Work may still be in flight and peers may never reach nvshmem_free: leave the memory to
                // the process's exit rather than free it under a running kernel or hang in a collective.
                throw error != null ? error : new IllegalStateException("rank " + env.rank() + " failed earlier; "
                        + "its device memory is left to the process's exit");
            }
            events.forEach(CudaEventHandle::close);
            streams.forEach(CudaStreamHandle::close);
            memory.forEach(DeviceMemory::close);
            symmetric.forEach(SymmetricMemory::close); // collective: nvshmem_free
            setup.close();
        }
    }

    private static final int MAX_SIDE_STREAMS = 8;

    /** Teams are per member set; the group's axis name does not matter. */
    private static String teamKey(ProcessGroup g) {
        return g.start() + "/" + g.stride() + "/" + g.size();
    }

    /** One put or get of a fanned-out primitive, issued on the stream it is given. */
    @FunctionalInterface
    private interface CopyOp {
        void issue(int index, CudaStream on);
    }

    private final class GpuCommunicator implements Communicator {
        @Override
        public int rank() {
            return env.rank();
        }

        @Override
        public int worldSize() {
            return env.worldSize();
        }

        @Override
        public Team team(ProcessGroup group) {
            if (group.size() > 1 && nvshmem != null) {
                // Collective over the world: every rank asks for every group, in the same order.
                teams.computeIfAbsent(teamKey(group),
                        k -> nvshmem.world().splitStrided(group.start(), group.stride(), group.size()));
            }
            return () -> group;
        }

        @Override
        public void scatterPush(List<Buffer> srcs, Buffer dst, int[] pes, Stream stream, String step) {
            oneSided(true, srcs, dst, pes, stream, step);
        }

        @Override
        public void gatherPull(List<Buffer> dsts, Buffer src, int[] pes, Stream stream, String step) {
            oneSided(false, dsts, src, pes, stream, step);
        }

        /**
         * ScatterPush ({@code push}: {@code locals[i]} into {@code sym} on {@code pes[i]}) or GatherPull
         * ({@code sym} on {@code pes[i]} into {@code locals[i]}): one copy kernel for the PEs that the
         * primitive's mover reaches through a mapping, NVSHMEM's put or get for the rest.
         */
        private void oneSided(boolean push, List<Buffer> locals, Buffer sym, int[] pes, Stream stream, String step) {
            TransferChecks.onePerPe(locals.size(), pes, env.worldSize(), env.rank(), step);
            TransferChecks.symmetric(sym, step);
            CudaBuffer sb = CudaBuffer.of(sym);
            CudaStreamHandle s = (CudaStreamHandle) stream;
            shmem(step);
            for (Buffer local : locals) {
                CudaBuffer l = CudaBuffer.of(local);
                TransferChecks.sameSize(push ? l : sb, push ? sb : l, step);
            }
            GpuOptions.OneSidedMover mover = push ? options.push() : options.pull();
            SymmetricMemory block = sb.symmetricBlock();
            long offset = sb.symmetricOffset();
            List<CopySegment> direct = new ArrayList<>();
            List<Integer> viaShmem = new ArrayList<>();
            for (int i = 0; i < pes.length; i++) {
                MemorySegment local = CudaBuffer.of(locals.get(i)).segment();
                Optional<MemorySegment> peer = mapped(mover, block, offset, local.byteSize(), pes[i]);
                if (peer.isPresent()) {
                    direct.add(push ? new CopySegment(peer.get(), local) : new CopySegment(local, peer.get()));
                } else {
                    viaShmem.add(i);
                }
                count(pes[i], local.byteSize());
                moverBytes[(peer.isPresent() ? GpuOptions.OneSidedMover.SM_KERNEL : GpuOptions.OneSidedMover.COPY_ENGINE)
                        .ordinal()].add(local.byteSize());
            }
            fanOut(s.cuda(), viaShmem.size(), (j, on) -> {
                int i = viaShmem.get(j);
                MemorySegment local = CudaBuffer.of(locals.get(i)).segment();
                if (push) {
                    block.put(offset, local, pes[i], on);
                } else {
                    block.get(local, offset, pes[i], on);
                }
            }, direct);
            s.enqueued(step);
        }

        /**
         * The peer's bytes as an address this GPU can store to and load from, when {@code mover} is the SM
         * kernel and NVSHMEM maps that PE here (NVLink, or this PE); otherwise empty, and the copy goes
         * through NVSHMEM's own put or get.
         */
        private Optional<MemorySegment> mapped(GpuOptions.OneSidedMover mover, SymmetricMemory block, long offset,
                long length, int pe) {
            return mover == GpuOptions.OneSidedMover.SM_KERNEL ? block.peer(offset, length, pe) : Optional.empty();
        }

        /**
         * Runs {@code n} NVSHMEM puts or gets and the copy kernel over {@code direct} so that they overlap:
         * each put or get is ordered on its stream, so on one stream they would take one peer at a time.
         * The puts go on side streams forked from {@code main}, the kernel on {@code main} between the fork
         * and the join, so everything after them on {@code main} (a barrier, a launch) sees all complete.
         */
        private void fanOut(CudaStream main, int n, CopyOp op, List<CopySegment> direct) {
            if (n == 0) {
                if (!direct.isEmpty()) {
                    SfKernels.copySegments(direct, 0, main);
                }
                return;
            }
            if (n == 1 && direct.isEmpty()) {
                op.issue(0, main);
                return;
            }
            synchronized (CudaRankDevice.this) {
                if (forkEvent == null) {
                    forkEvent = org.streamfusion.cuda.CudaEvent.create(false);
                }
                int k = Math.min(n, MAX_SIDE_STREAMS);
                while (sideStreams.size() < k) {
                    sideStreams.add(CudaStream.create(true));
                    sideEvents.add(org.streamfusion.cuda.CudaEvent.create(false));
                }
                forkEvent.record(main);
                for (int i = 0; i < k; i++) {
                    sideStreams.get(i).waitFor(forkEvent);
                }
                for (int i = 0; i < n; i++) {
                    op.issue(i, sideStreams.get(i % k));
                }
                if (!direct.isEmpty()) {
                    SfKernels.copySegments(direct, 0, main);
                }
                for (int i = 0; i < k; i++) {
                    sideEvents.get(i).record(sideStreams.get(i));
                    main.waitFor(sideEvents.get(i));
                }
            }
        }

        @Override
        public void barrier(Team team, Stream stream, String step) {
            CudaStreamHandle s = (CudaStreamHandle) stream;
            ProcessGroup g = team.group();
            if (g.size() == 1) {
                shmem(step).quiet(s.cuda()); // a team of one: only the puts to complete
            } else {
                Optional<NvshmemTeam> t = teams.get(teamKey(g));
                if (t == null || t.isEmpty()) {
                    throw new IllegalStateException("step '" + step + "': rank " + env.rank() + " has no team for " + g);
                }
                t.get().barrier(s.cuda());
            }
            s.enqueued(step);
        }

        @Override
        public void barrierAll(Stream stream, String step) {
            CudaStreamHandle s = (CudaStreamHandle) stream;
            shmem(step).barrierAll(s.cuda());
            s.enqueued(step);
        }

        @Override
        public void exchange(List<Transfer> sends, List<Transfer> recvs, Stream stream, String step) {
            CudaStreamHandle s = (CudaStreamHandle) stream;
            // Everything that can be refused is checked before the group opens: a group ended half
            // issued would leave the peers waiting for the rest.
            List<MemorySegment> out = new ArrayList<>(sends.size());
            List<MemorySegment> in = new ArrayList<>(recvs.size());
            for (Transfer t : sends) {
                TransferChecks.peer(t.peer(), env.worldSize(), env.rank(), step);
                out.add(CudaBuffer.of(t.buffer()).segment());
            }
            for (Transfer t : recvs) {
                TransferChecks.peer(t.peer(), env.worldSize(), env.rank(), step);
                in.add(CudaBuffer.of(t.buffer()).segment());
            }
            NcclCommunicator lane = Communicator.RING_LANE.equals(s.name()) ? ringLane : nccl;
            NcclCommunicator.groupStart();
            try {
                for (int i = 0; i < out.size(); i++) {
                    lane.send(out.get(i), out.get(i).byteSize(), NcclDataType.UINT8, sends.get(i).peer(), s.cuda());
                    count(sends.get(i).peer(), out.get(i).byteSize());
                }
                for (int i = 0; i < in.size(); i++) {
                    lane.recv(in.get(i), in.get(i).byteSize(), NcclDataType.UINT8, recvs.get(i).peer(), s.cuda());
                }
            } finally {
                NcclCommunicator.groupEnd();
            }
            s.enqueued(step);
        }
    }
}
