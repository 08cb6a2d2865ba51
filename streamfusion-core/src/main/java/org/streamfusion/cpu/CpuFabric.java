package org.streamfusion.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.streamfusion.CommunicationTimeoutException;
import org.streamfusion.InvalidStateException;
import org.streamfusion.LinkClass;
import org.streamfusion.RankFailedException;
import org.streamfusion.Timeouts;
import org.streamfusion.Topology;
import org.streamfusion.spi.Communicator;
import org.streamfusion.spi.TransferChecks;

/**
 * What the ranks of one CPU world share: the symmetric heap, team barriers, the two-sided channels, the
 * byte counters per link class, and the world's failure state. Every wait here is bounded by the
 * configured timeout and gives up at once when another rank has failed.
 */
final class CpuFabric {
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    final Topology topology;
    final CpuOptions options;
    final int worldSize;
    private final LongAdder[][] bytes;
    private final AtomicReference<Failure> failure = new AtomicReference<>();
    private final Map<String, TeamBarrier> barriers = new ConcurrentHashMap<>();
    private final Map<Long, LinkedBlockingQueue<PendingSend>> channels = new ConcurrentHashMap<>();
    private final List<List<Runnable>> pendingPuts = new ArrayList<>();
    private final SymmetricHeap heap;
    private final TeamBarrier hostBarrier;
    final MemoryLimit memory;
    /** Per rank: in the host barrier of a collective free (it has left every layer it closes). */
    private final AtomicIntegerArray freeing;
    /** Per rank: whether all its streams have finished what was enqueued. */
    private final BooleanSupplier[] streamsIdle;

    record Failure(int rank, Throwable cause) {
    }

    record PendingSend(CpuBuffer src, CountDownLatch consumed, int from) {
    }

    CpuFabric(Topology topology, CpuOptions options) {
        this.topology = topology;
        this.options = options;
        this.worldSize = topology.worldSize();
        bytes = new LongAdder[worldSize][LinkClass.values().length];
        for (LongAdder[] row : bytes) {
            for (int i = 0; i < row.length; i++) {
                row[i] = new LongAdder();
            }
        }
        for (int i = 0; i < worldSize; i++) {
            pendingPuts.add(new ArrayList<>());
        }
        heap = new SymmetricHeap(worldSize);
        int[] all = new int[worldSize];
        Arrays.setAll(all, i -> i);
        hostBarrier = new TeamBarrier(all);
        memory = new MemoryLimit(options.memoryLimit());
        freeing = new AtomicIntegerArray(worldSize);
        streamsIdle = new BooleanSupplier[worldSize];
        Arrays.fill(streamsIdle, (BooleanSupplier) () -> true);
    }

    void registerStreams(int rank, BooleanSupplier idle) {
        streamsIdle[rank] = idle;
    }

    // ---- failure and bounded waiting -------------------------------------------------------------

    void fail(int rank, Throwable cause) {
        failure.compareAndSet(null, new Failure(rank, cause));
    }

    Failure failure() {
        return failure.get();
    }

    private void checkFailed(int rank) {
        Failure f = failure.get();
        if (f != null) {
            throw new RankFailedException(f.rank(), "rank " + rank + " stopped: rank " + f.rank() + " failed: "
                    + f.cause().getMessage(), f.cause());
        }
    }

    /** Waits until {@code done} holds; throws a timeout naming the rank and step, or the world's failure. */
    void await(BooleanSupplier done, int rank, String step, Supplier<String> detail) {
        await(done, rank, step, detail, 1);
    }

    void await(BooleanSupplier done, int rank, String step, Supplier<String> detail, int factor) {
        await(done, rank, step, detail, factor, null);
    }

    /** The same, also failing at once when one of the {@code awaited} ranks has left the layer (see below). */
    void await(BooleanSupplier done, int rank, String step, Supplier<String> detail, int factor,
            Supplier<int[]> awaited) {
        long deadline = Timeouts.deadlineNanos(options.timeout(), factor);
        while (!done.getAsBoolean()) {
            checkFailed(rank);
            if (awaited != null) {
                checkNotLeft(rank, step, awaited.get(), done);
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new CommunicationTimeoutException(rank, step, options.timeout().multipliedBy(factor), detail.get());
            }
            try {
                synchronized (this) {
                    if (!done.getAsBoolean()) {
                        TimeUnit.NANOSECONDS.timedWait(this, Math.min(left, POLL_NANOS));
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RankFailedException(rank, "rank " + rank + " interrupted at step '" + step + "'", e);
            }
        }
    }

    /**
     * A rank in the host barrier of a collective free whose streams are all idle will do nothing more until
     * its peers join that barrier; a peer waiting for it inside a layer never will. That is a rank that
     * threw and is closing its layer on the way out (a try-with-resources): stop its peers now rather than
     * after the timeout, naming it. The awaited ranks were read before the freeing flags: a peer that was
     * missing then may since have arrived, completed the wait, finished its layer and begun freeing, so the
     * condition is read again after the flag (the flag is set after the peer's arrival, so that read sees it).
     */
    private void checkNotLeft(int rank, String step, int[] awaited, BooleanSupplier done) {
        for (int peer : awaited) {
            if (peer != rank && freeing.get(peer) == 1 && streamsIdle[peer].getAsBoolean() && !done.getAsBoolean()) {
                throw new RankFailedException(peer, "rank " + rank + " stopped at step '" + step + "': it waits for rank "
                        + peer + ", which left the layer (it is freeing its memory with nothing left on its streams)", null);
            }
        }
    }

    /** Wakes every waiter to re-check its condition. */
    synchronized void signalAll() {
        notifyAll();
    }

    /** Bounded wait for a peer (barrier, receive, send): the wait that reports a hang. */
    void await(CountDownLatch latch, int rank, String step, String what) {
        await(latch, rank, step, what, 1);
    }

    /**
     * Wait for work of this rank's own streams (an event, a stream drain). What it waits for is itself
     * a bounded wait that fails the world when it runs out, so this one only backstops at twice the
     * timeout: the report then names the peer wait that hung, not a stream stuck behind it.
     */
    void awaitLocal(CountDownLatch latch, int rank, String step, String what) {
        await(latch, rank, step, what, 2);
    }

    private void await(CountDownLatch latch, int rank, String step, String what, int factor) {
        await(latch, rank, step, what, factor, -1);
    }

    /** {@code peer}: the rank this wait needs (a send's receiver), or -1 for a wait on this rank's own work. */
    private void await(CountDownLatch latch, int rank, String step, String what, int factor, int peer) {
        long deadline = Timeouts.deadlineNanos(options.timeout(), factor);
        try {
            while (!latch.await(Math.min(POLL_NANOS, Math.max(0, deadline - System.nanoTime())), TimeUnit.NANOSECONDS)) {
                checkFailed(rank);
                if (peer >= 0) {
                    checkNotLeft(rank, step, new int[] {peer}, () -> latch.getCount() == 0);
                }
                if (System.nanoTime() - deadline >= 0) {
                    throw new CommunicationTimeoutException(rank, step, options.timeout().multipliedBy(factor), what);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RankFailedException(rank, "rank " + rank + " interrupted at step '" + step + "'", e);
        }
    }

    // ---- byte accounting -------------------------------------------------------------------------

    void count(int initiator, int peer, long byteCount) {
        bytes[initiator][topology.linkBetween(initiator, peer).ordinal()].add(byteCount);
    }

    long bytes(int rank, LinkClass c) {
        return bytes[rank][c.ordinal()].sum();
    }

    void resetCounters() {
        for (LongAdder[] row : bytes) {
            for (LongAdder a : row) {
                a.reset();
            }
        }
    }

    // ---- symmetric heap ----------------------------------------------------------------------------

    /** Collective, like {@code nvshmem_malloc}: every rank allocates the same size in the same order. */
    int allocateSymmetric(int rank, MemorySegment segment, String step) {
        int index = heap.add(rank, segment);
        hostBarrier(rank, step);
        heap.checkSameSize(index, segment);
        return index;
    }

    /** The same slice of a symmetric buffer, on rank {@code pe}. */
    MemorySegment resolve(CpuBuffer b, int pe) {
        TransferChecks.symmetric(b, "resolve on rank " + pe);
        return heap.segment(b.symmetricIndex(), pe).asSlice(b.symmetricOffset() * b.dtype().bytes(), b.segment().byteSize());
    }

    void freeSymmetric(int rank, int index) {
        heap.free(rank, index);
    }

    /** A barrier of the host threads of all ranks, outside any stream (collective allocation). */
    void hostBarrier(int rank, String step) {
        hostBarrier.arrive(this, rank, step, 1, false);
    }

    /**
     * The host barrier of a collective free. Peers that have not arrived are usually stuck in a wait of
     * the layer itself, which reports the hang; this one only backstops, at twice the timeout.
     */
    void cleanupBarrier(int rank, String step) {
        freeing.set(rank, 1);
        signalAll();
        try {
            hostBarrier.arrive(this, rank, step, 2, false);
        } finally {
            freeing.set(rank, 0);
        }
    }

    // ---- one-sided -------------------------------------------------------------------------------

    void put(int rank, MemorySegment dst, MemorySegment src) {
        if (options.delivery() == CpuOptions.PutDelivery.IMMEDIATE) {
            MemorySegment.copy(src, 0, dst, 0, src.byteSize());
            return;
        }
        // Stage the source now: after putmem_on_stream returns the source may be reused.
        MemorySegment staged = Arena.ofAuto().allocate(src.byteSize());
        MemorySegment.copy(src, 0, staged, 0, src.byteSize());
        synchronized (pendingPuts) {
            pendingPuts.get(rank).add(() -> MemorySegment.copy(staged, 0, dst, 0, staged.byteSize()));
        }
    }

    /** Completes this rank's outstanding puts (the quiet inside every barrier). */
    void quiet(int rank) {
        List<Runnable> mine;
        synchronized (pendingPuts) {
            mine = new ArrayList<>(pendingPuts.get(rank));
            pendingPuts.get(rank).clear();
        }
        mine.forEach(Runnable::run);
    }

    void barrier(int rank, int[] team, String step) {
        quiet(rank);
        String key = Arrays.toString(team);
        barriers.computeIfAbsent(key, k -> new TeamBarrier(team)).arrive(this, rank, step, 1, true);
    }

    // ---- two-sided -------------------------------------------------------------------------------

    /** Lane 1 is {@link org.streamfusion.spi.Communicator#RING_LANE}'s, lane 0 every other stream's. */
    private LinkedBlockingQueue<PendingSend> channel(int lane, int from, int to) {
        return channels.computeIfAbsent(((long) lane * worldSize + from) * worldSize + to, k -> new LinkedBlockingQueue<>());
    }

    /**
     * One NCCL-style group: post every send, satisfy every receive in order, then wait for the sends to be
     * taken. Sends and receives match per lane, as on the GPU (one NCCL communicator per lane), so a
     * schedule that pairs a ring-lane send with another lane's receive hangs here too, and times out.
     */
    void exchange(int rank, List<Communicator.Transfer> sends,
            List<Communicator.Transfer> recvs, int lane, String step) {
        List<CountDownLatch> posted = new ArrayList<>(sends.size());
        for (var s : sends) {
            checkPeer(s.peer(), rank, step);
            CountDownLatch consumed = new CountDownLatch(1);
            channel(lane, rank, s.peer()).add(new PendingSend(CpuBuffer.of(s.buffer()), consumed, rank));
            posted.add(consumed);
        }
        signalAll();
        for (var r : recvs) {
            checkPeer(r.peer(), rank, step);
            LinkedBlockingQueue<PendingSend> ch = channel(lane, r.peer(), rank);
            PendingSend[] taken = new PendingSend[1];
            // Idempotent: await evaluates the condition more than once, and a taken send must stay taken.
            await(() -> taken[0] != null || (taken[0] = ch.poll()) != null, rank, step,
                    () -> "receive from rank " + r.peer() + " on " + laneName(lane) + " never matched by a send", 1,
                    () -> new int[] {r.peer()});
            PendingSend p = taken[0];
            CpuBuffer dst = CpuBuffer.of(r.buffer());
            if (p.src().length() != dst.length()) {
                throw new InvalidStateException("rank " + rank + " at step '" + step + "': receive of " + dst.length()
                        + " elements matched a send of " + p.src().length() + " from rank " + p.from());
            }
            MemorySegment.copy(p.src().segment(), 0, dst.segment(), 0, dst.segment().byteSize());
            count(p.from(), rank, dst.segment().byteSize());
            p.consumed().countDown();
            signalAll();
        }
        for (int i = 0; i < posted.size(); i++) {
            int peer = sends.get(i).peer();
            await(posted.get(i), rank, step, "send to rank " + peer + " on " + laneName(lane) + " never received", 1, peer);
        }
    }

    private static String laneName(int lane) {
        return lane == 1 ? "the ring lane" : "the default lane";
    }

    void checkPeer(int peer, int rank, String step) {
        TransferChecks.peer(peer, worldSize, rank, step);
    }

    Duration timeout() {
        return options.timeout();
    }
}
