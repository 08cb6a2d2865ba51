package org.streamfusion.cpu;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.InvalidStateException;
import org.streamfusion.LinkClass;
import org.streamfusion.RankFailedException;
import org.streamfusion.StreamFusionException;
import org.streamfusion.Timeouts;
import org.streamfusion.Topology;

/**
 * {@code N = M*G} ranks in one JVM, one host thread per rank, each with its own streams (worker threads; all
 * of them the world's, started when it is created and reused by every run and layer, so a call starts none),
 * over a shared fabric that behaves like NVSHMEM (symmetric heap, put/get, barriers) and NCCL (grouped
 * send/recv), and counts every byte by link class. The CPU reference path of the library: it runs the
 * very same schedule classes as the CUDA backend.
 *
 * <p><b>Threads.</b> A world is one job of {@code N} ranks: one {@link #run} at a time. A second thread that
 * calls {@code run} (or {@link #close}) while a run is in progress gets an {@link InvalidStateException}
 * naming the rule and the running thread; the running call and the world are not disturbed. Use one world per
 * thread for concurrent jobs. Inside a run, each rank's {@link CpuRankDevice}, its arenas and the layers
 * ({@code DistributedAttention}) built on it belong to that rank's host thread: a layer is used by one
 * thread, and its {@code forward} calls are ordered on its stream. The byte counters may be read from any
 * thread.
 *
 * <p><b>Failure.</b> When a rank throws, the world fails: every other rank's wait returns at once
 * ({@link RankFailedException}) and {@code run} throws the rank's original exception (same object, same type,
 * the other ranks' own errors suppressed in it) with the caller's frames attached as a suppressed
 * {@link StreamFusionException} ("rethrown to the caller of CpuWorld.run"). A failed world stays failed,
 * since its ranks stopped mid-collective: every later {@code run} throws an {@link InvalidStateException}
 * that names the earlier failure (its cause). A failed world is still closed with {@link #close}; make a new
 * one to go on.
 *
 * <p><b>Interruption.</b> A caller interrupted inside {@code run} fails the world with a
 * {@link StreamFusionException} naming the interruption as its cause, stops and joins every rank thread and
 * stream of the world, and only then throws that exception with its interrupt flag set again.
 */
public final class CpuWorld implements AutoCloseable {
    private static final AtomicInteger WORLDS = new AtomicInteger();

    private final CpuFabric fabric;
    private final List<CpuRankDevice> devices = new ArrayList<>();
    private final String threadPrefix;
    private final WorkerThreads threads;
    /** The machine's cores, shared by the ranks' kernels. */
    private final ComputePool compute;
    private final AtomicReference<Thread> runner = new AtomicReference<>();
    private volatile boolean closed;
    private volatile Throwable failedWith;
    private volatile int failedRank;

    private CpuWorld(Topology topology, CpuOptions options) {
        this.fabric = new CpuFabric(topology, options);
        this.threadPrefix = "sf-cpu" + WORLDS.incrementAndGet() + "-";
        this.threads = new WorkerThreads(threadPrefix, topology.worldSize());
        this.compute = ComputePool.forThisMachine(threadPrefix);
        for (int r = 0; r < topology.worldSize(); r++) {
            devices.add(new CpuRankDevice(fabric, r, threads, compute));
        }
    }

    /**
     * A world of {@code topology.worldSize()} ranks sharing one fabric.
     *
     * @param topology machines and GPUs per machine to emulate
     * @param options  timeouts, put delivery, jitter and memory limit
     * @return the new world; close it when done
     * @throws NullPointerException if an argument is null
     */
    public static CpuWorld create(Topology topology, CpuOptions options) {
        Objects.requireNonNull(topology, "topology");
        Objects.requireNonNull(options, "options");
        return new CpuWorld(topology, options);
    }

    /**
     * A world with {@link CpuOptions#defaults()}.
     *
     * @param topology machines and GPUs per machine to emulate
     * @return the new world; close it when done
     */
    public static CpuWorld create(Topology topology) {
        return create(topology, CpuOptions.defaults());
    }

    /** {@return the topology this world emulates} */
    public Topology topology() {
        return fabric.topology;
    }

    /** {@return the options this world was created with} */
    public CpuOptions options() {
        return fabric.options;
    }

    /**
     * One rank of this world; use it only on that rank's host thread inside {@link #run}.
     *
     * @param rank the rank, {@code 0 <= rank < topology().worldSize()}
     * @return the rank's device
     * @throws InvalidArgumentException if {@code rank} is out of range
     */
    public CpuRankDevice device(int rank) {
        if (rank < 0 || rank >= devices.size()) {
            throw new InvalidArgumentException("rank " + rank + " (rule: 0 <= rank < " + devices.size() + ")");
        }
        return devices.get(rank);
    }

    /** {@return the prefix of every thread this world starts (leak checks)} */
    public String threadPrefix() {
        return threadPrefix;
    }

    /**
     * Runs {@code body} on every rank at once, each on its own host thread, and returns the results by
     * rank. If any rank fails, every other rank is stopped and the first failure is thrown.
     *
     * @param <T>  what each rank returns
     * @param body the work of one rank, given that rank's device
     * @return each rank's result, indexed by rank
     * @throws InvalidStateException if the world is closed, failed earlier, or in a run on another thread
     */
    public <T> List<T> run(Function<CpuRankDevice, T> body) {
        Objects.requireNonNull(body, "body");
        enter("run");
        try {
            CpuFabric.Failure earlier = fabric.failure();
            if (earlier != null) {
                Throwable cause = failedWith != null ? failedWith : earlier.cause();
                int rank = failedWith != null ? failedRank : earlier.rank();
                throw new InvalidStateException("this world failed in an earlier run: rank " + rank + " threw " + cause + " (rule: a failed world "
                        + "stays failed; close it and create a new one)", cause);
            }
            if (closed) {
                throw new InvalidStateException("world is closed");
            }
            return runRanks(body);
        } finally {
            runner.set(null);
        }
    }

    /** Claims the world for this thread, or names the rule and the thread that holds it. */
    private void enter(String call) {
        Thread me = Thread.currentThread();
        if (!runner.compareAndSet(null, me)) {
            Thread holder = runner.get();
            throw new InvalidStateException("CpuWorld." + call + " on thread '" + me.getName() + "' while a run is in "
                    + "progress on thread '" + (holder == null ? "?" : holder.getName()) + "' (rule: one run at a time "
                    + "per world; use one world per thread)");
        }
    }

    /** Fails, before anything is allocated, when {@code bytes} more would pass the world's memory limit. */
    void checkAvailable(long bytes, String what) {
        fabric.memory.check(bytes, what);
    }

    private <T> List<T> runRanks(Function<CpuRankDevice, T> body) {
        int n = devices.size();
        List<T> results = new ArrayList<>(Collections.nCopies(n, null));
        Throwable[] errors = new Throwable[n];
        CountDownLatch[] done = new CountDownLatch[n];
        for (int r = 0; r < n; r++) {
            int rank = r;
            done[r] = new CountDownLatch(1);
            threads.start("host" + r, () -> {
                try {
                    results.set(rank, body.apply(devices.get(rank)));
                } catch (Throwable t) {
                    errors[rank] = t;
                    fabric.fail(rank, t);
                    fabric.signalAll();
                }
            }, done[rank]::countDown);
        }
        long budget = Timeouts.saturatedMillis(fabric.timeout(), 4, 10_000);
        long deadline = Timeouts.deadlineNanos(Duration.ofMillis(budget), 1);
        for (int r = 0; r < n; r++) {
            boolean finished;
            try {
                finished = done[r].await(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                throw interrupted(done, e);
            }
            if (!finished) {
                fabric.fail(-1, new StreamFusionException(threadPrefix + "host" + r + " did not finish within " + budget + " ms"));
                fabric.signalAll();
            }
        }
        CpuFabric.Failure f = fabric.failure();
        if (f != null) {
            Throwable root = f.cause();
            int rootRank = f.rank();
            // A peer that stopped first (it saw this rank leave the layer) is not the cause: the rank's own error is.
            for (int r = 0; r < n && root instanceof RankFailedException; r++) {
                if (errors[r] != null && !(errors[r] instanceof RankFailedException)) {
                    root = errors[r];
                    rootRank = r;
                }
            }
            failedWith = root;
            failedRank = rootRank;
            for (int r = 0; r < n; r++) {
                if (errors[r] != null && errors[r] != root && !(errors[r] instanceof RankFailedException)) {
                    root.addSuppressed(errors[r]);
                }
            }
            // The rank's stack says where it failed; this one says which call of the caller it was.
            root.addSuppressed(new StreamFusionException("rethrown to the caller of CpuWorld.run on thread '"
                    + Thread.currentThread().getName() + "'"));
            if (root instanceof RuntimeException re) {
                throw re;
            }
            if (root instanceof Error err) {
                throw err;
            }
            throw new RankFailedException(f.rank(), "rank " + f.rank() + " failed: " + root, root);
        }
        return results;
    }

    /**
     * The caller was interrupted while its ranks ran: the world fails with that as its cause, every rank
     * thread is stopped and joined (a rank sees the failure at its next wait), their streams are stopped with
     * their arenas, and only then does the caller get the exception, its interrupt flag set again.
     */
    private StreamFusionException interrupted(CountDownLatch[] done, InterruptedException e) {
        StreamFusionException cause = new StreamFusionException("the caller of CpuWorld.run on thread '"
                + Thread.currentThread().getName() + "' was interrupted while its ranks ran", e);
        fabric.fail(-1, cause);
        fabric.signalAll();
        failedWith = cause;
        failedRank = -1;
        long bound = Timeouts.saturatedMillis(fabric.timeout(), 2, 5_000);
        long deadline = Timeouts.deadlineNanos(Duration.ofMillis(bound), 1);
        boolean again = false;
        List<Integer> running = new ArrayList<>();
        for (int r = 0; r < done.length; r++) {
            while (done[r].getCount() > 0 && deadline - System.nanoTime() > 0) {
                try {
                    done[r].await(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException more) {
                    again = true;
                }
            }
            if (done[r].getCount() > 0) {
                running.add(r);
            }
        }
        closeRanks(); // a failed world runs no more: its streams and its threads are stopped here
        Thread.currentThread().interrupt();
        if (!running.isEmpty() || again) {
            cause.addSuppressed(new StreamFusionException("after " + bound + " ms ranks still running: " + running));
        }
        return cause;
    }

    /**
     * Bytes moved by all ranks over one link class since the last reset.
     *
     * @param c the link class
     * @return the sum over ranks of {@link #bytes(int, LinkClass)}
     */
    public long bytes(LinkClass c) {
        long s = 0;
        for (int r = 0; r < devices.size(); r++) {
            s += fabric.bytes(r, c);
        }
        return s;
    }

    /**
     * Bytes that {@code rank} initiated (put, get, or sent) over one link class.
     *
     * @param rank the initiating rank, {@code 0 <= rank < topology().worldSize()}
     * @param c    the link class
     * @return bytes since the last {@link #resetCounters()}
     */
    public long bytes(int rank, LinkClass c) {
        return fabric.bytes(rank, c);
    }

    /** Sets every byte counter of every rank back to zero. */
    public void resetCounters() {
        fabric.resetCounters();
    }

    /** {@return whether a rank of this world has failed} */
    public boolean failed() {
        return fabric.failure() != null;
    }

    /** Closes every rank's open arenas (collectively; at once when the world has failed). Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        enter("close");
        try {
            closeRanks();
        } finally {
            runner.set(null);
        }
    }

    private void closeRanks() {
        if (closed) {
            return;
        }
        closed = true;
        CountDownLatch closedAll = new CountDownLatch(devices.size());
        for (CpuRankDevice d : devices) {
            // Arena close is collective (symmetric free), so every rank closes on its own thread.
            threads.start("close" + d.rank(), d::closeAll, closedAll::countDown);
        }
        try {
            closedAll.await(Timeouts.saturatedMillis(fabric.timeout(), 2, 5_000),
                    TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        threads.close(1_000);
        compute.close();
    }

    /** {@return threads this world has started so far; a run or a layer on warm threads starts none} */
    int threadsStarted() {
        return threads.threadsStarted();
    }
}
