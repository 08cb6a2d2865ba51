package org.streamfusion.gpu;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import org.streamfusion.InvalidStateException;
import org.streamfusion.ProcessGroup;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.cuda.DeviceMemory;
import org.streamfusion.launch.KeyValueStore;
import org.streamfusion.spi.Communicator;
import org.streamfusion.spi.StreamCapture;

/**
 * The transport of one rank of an in-process world ({@link CudaWorld}): every rank is a thread of this process
 * on the same GPU, so a peer's memory is addressable here. A two-sided send is a device copy that the receiver
 * enqueues after the sender's stream has reached the send (an event), and the sender's stream then waits for
 * the copy (another event): NCCL's rule that a send completes when the receiver has the bytes. Symmetric blocks
 * are each rank's own allocation, found by the order of allocation; a barrier is an event per member that every
 * member's stream waits for. The host meets its peers in {@link LocalFabric}, whose waits are bounded.
 */
final class LocalTransport implements RankTransport {
    private final LocalFabric fabric;
    private final int rank;
    private final int device;
    /** Symmetric allocations made so far: every rank allocates in the same order, so the count names a block. */
    private long blocks;
    private final Map<String, Long> barriers = new HashMap<>();
    /** One event per stream that issued one-sided transfers since the last barrier. */
    private final List<SharedEvent> pendingPuts = new ArrayList<>();
    private volatile boolean failed;

    LocalTransport(LocalFabric fabric, int rank, int device) {
        this.fabric = fabric;
        this.rank = rank;
        this.device = device;
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int worldSize() {
        return fabric.worldSize();
    }

    @Override
    public int device() {
        return device;
    }

    @Override
    public Optional<KeyValueStore> store() {
        return Optional.empty();
    }

    @Override
    public String describe() {
        return "in-process world: " + fabric.worldSize() + " ranks share GPU " + device
                + " (all its SMs, no partition), transfers are device copies";
    }

    @Override
    public void checkAsyncErrors() {
        // no background work of its own: copies and waits are on the ranks' streams
    }

    @Override
    public void markFailed() {
        failed = true;
        fabric.fail(rank, new InvalidStateException("rank " + rank + " failed"));
    }

    @Override
    public boolean failed() {
        return failed || fabric.failed();
    }

    @Override
    public boolean hasOneSided() {
        return true;
    }

    @Override
    public void requireOneSided(String step) {
        // every rank's memory is addressable here
    }

    @Override
    public StreamCapture graphCapture() {
        // a rank's own capture would wait for events of its peers' captures, which CUDA refuses: one for the world
        return new WorldGraphCapture(fabric, this);
    }

    /** A send as its receiver sees it; {@code copied} is set by the receiver once its copy is enqueued. */
    private static final class Send {
        final MemorySegment source;
        final SharedEvent ready;
        volatile SharedEvent copied;

        Send(MemorySegment source, SharedEvent ready) {
            this.source = source;
            this.ready = ready;
        }
    }

    private static String lane(String streamName) {
        return Communicator.RING_LANE.equals(streamName) ? Communicator.RING_LANE : "main";
    }

    @Override
    public void exchange(List<MemorySegment> out, int[] outPeers, List<MemorySegment> in, int[] inPeers,
            String streamName, CudaStream stream, String step) {
        String lane = lane(streamName);
        guarded(() -> {
            // The receivers' copies read the sources once this stream reached the group: one event for all sends.
            SharedEvent ready = out.isEmpty() ? null : SharedEvent.record(stream, out.size() + 1);
            List<Send> mine = new ArrayList<>(out.size());
            for (int i = 0; i < out.size(); i++) {
                Send s = new Send(out.get(i), ready);
                mine.add(s);
                fabric.post(lane, rank, outPeers[i], s);
            }
            if (ready != null) {
                ready.release();
            }
            List<Send> taken = new ArrayList<>(in.size());
            for (int i = 0; i < in.size(); i++) {
                Send s = fabric.take(lane, inPeers[i], rank, step, Send.class);
                MemorySegment dst = in.get(i);
                if (s.source.byteSize() != dst.byteSize()) {
                    throw new InvalidStateException("step '" + step + "': rank " + rank + " receives " + dst.byteSize()
                            + " bytes from rank " + inPeers[i] + ", which sends " + s.source.byteSize());
                }
                stream.waitFor(s.ready.event());
                s.ready.release();
                CudaRuntime.copyAsync(dst, s.source, stream);
                taken.add(s);
            }
            if (!taken.isEmpty()) {
                SharedEvent copied = SharedEvent.record(stream, taken.size() + 1);
                taken.forEach(s -> s.copied = copied);
                fabric.signal();
                copied.release();
            }
            for (int i = 0; i < mine.size(); i++) {
                Send s = mine.get(i);
                int peer = outPeers[i];
                fabric.awaitPeer(() -> s.copied != null, peer, rank, step, () -> "rank " + peer + " to receive "
                        + s.source.byteSize() + " bytes on lane '" + lane + "'");
                stream.waitFor(s.copied.event());
                s.copied.release();
            }
            return null;
        });
    }

    @Override
    public SymmetricBlock allocateSymmetric(long bytes, String step, Consumer<MemorySegment> initialise) {
        String key = "heap/" + blocks++;
        DeviceMemory memory = DeviceMemory.allocate(bytes);
        try {
            if (initialise != null) {
                initialise.accept(memory.segment());
            }
        } catch (RuntimeException | Error e) {
            memory.close();
            markFailed(); // peers waiting for this block end their waits now
            throw e;
        }
        // Published only once filled: a peer finds the block here and may put into it at once.
        fabric.put(key, rank, memory);
        return new LocalBlock(key, memory, step);
    }

    /** This rank's part of a symmetric block; its peers' parts are found under the same key. */
    private final class LocalBlock implements SymmetricBlock {
        private final String key;
        private final DeviceMemory memory;
        private final String step;
        private boolean closed;

        LocalBlock(String key, DeviceMemory memory, String step) {
            this.key = key;
            this.memory = memory;
            this.step = step;
        }

        @Override
        public MemorySegment segment() {
            return memory.segment();
        }

        @Override
        public Optional<MemorySegment> peer(long offset, long length, int pe) {
            DeviceMemory theirs = guarded(() -> fabric.get(key, pe, rank, step, DeviceMemory.class));
            if (theirs.byteSize() != memory.byteSize()) {
                throw new InvalidStateException("symmetric block " + key + " of step '" + step + "': rank " + rank
                        + " allocated " + memory.byteSize() + " bytes, rank " + pe + " " + theirs.byteSize());
            }
            return Optional.of(theirs.slice(offset, length));
        }

        @Override
        public void put(long dstOffset, MemorySegment src, int pe, CudaStream stream) {
            CudaRuntime.copyAsync(peer(dstOffset, src.byteSize(), pe).orElseThrow(), src, stream);
        }

        @Override
        public void get(MemorySegment dst, long srcOffset, int pe, CudaStream stream) {
            CudaRuntime.copyAsync(dst, peer(srcOffset, dst.byteSize(), pe).orElseThrow(), stream);
        }

        /** The last rank to free a block frees every rank's part: a peer may read or write this one until then. */
        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            Object[] parts = fabric.release(key, rank, fabric.worldSize());
            if (parts != null) {
                for (Object part : parts) {
                    if (part != null) {
                        ((DeviceMemory) part).close();
                    }
                }
            }
        }
    }

    @Override
    public void team(ProcessGroup group) {
        // every member set meets in the fabric; nothing to create
    }

    @Override
    public synchronized void oneSidedIssued(CudaStream stream) {
        pendingPuts.add(SharedEvent.record(stream, 1));
    }

    /**
     * Forgets the puts issued so far without a wait: at a capture's edges, where the layer before has completed (the
     * capture synchronised its stream) and the captured layer's puts are ordered by the graph's end. A captured wait
     * on an event recorded outside the capture, or an eager wait on one recorded inside it, is refused by CUDA.
     */
    synchronized void forgetIssuedPuts() {
        pendingPuts.forEach(SharedEvent::release);
        pendingPuts.clear();
    }

    /** A barrier completes this rank's earlier puts on every stream, as NVSHMEM's quiets the whole PE. */
    private synchronized void quiet(CudaStream stream) {
        for (SharedEvent e : pendingPuts) {
            stream.waitFor(e.event());
            e.release();
        }
        pendingPuts.clear();
    }

    @Override
    public void barrier(ProcessGroup group, CudaStream stream, String step) {
        quiet(stream);
        if (group.size() == 1) {
            return;
        }
        int[] members = group.ranks();
        String team = RankTransport.teamKey(group);
        long n = barriers.merge(team, 1L, Long::sum);
        String key = "barrier/" + team + "/" + n;
        guarded(() -> {
            SharedEvent arrived = SharedEvent.record(stream, members.length);
            List<SharedEvent> all = fabric.meet(key, members, rank, step, arrived, SharedEvent.class);
            for (SharedEvent e : all) {
                if (e != arrived) {
                    stream.waitFor(e.event());
                }
                e.release();
            }
            fabric.release(key, rank, members.length);
            return null;
        });
    }

    @Override
    public void barrierAll(CudaStream stream, String step) {
        barrier(new ProcessGroup("world", 0, 1, fabric.worldSize()), stream, step);
    }

    @Override
    public String agree(long capture, String mine) {
        int[] all = IntStream.range(0, fabric.worldSize()).toArray();
        String key = "capture/" + capture;
        List<String> refusals = guarded(() -> fabric.meet(key, all, rank, "capture " + capture, mine, String.class));
        fabric.release(key, rank, all.length);
        return refusals.stream().filter(r -> !r.isEmpty()).findFirst().orElse(null);
    }

    @Override
    public void closeTeams(Teardown teardown) {
        // no teams
    }

    @Override
    public void leave(Teardown teardown) {
        fabric.leave(rank);
    }

    /** A host wait that fails marks this rank failed, so its peers stop at once rather than at their timeouts. */
    private <T> T guarded(Supplier<T> wait) {
        try {
            return wait.get();
        } catch (RuntimeException | Error e) {
            failed = true;
            fabric.fail(rank, e);
            throw e;
        }
    }
}
