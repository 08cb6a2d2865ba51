package org.streamfusion.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.streamfusion.LinkClass;
import org.streamfusion.RankFailedException;
import org.streamfusion.StreamFusionException;
import org.streamfusion.Topology;

/**
 * {@code N = M*G} ranks in one JVM, one host thread per rank, each with its own streams (worker threads),
 * over a shared fabric that behaves like NVSHMEM (symmetric heap, put/get, barriers) and NCCL (grouped
 * send/recv), and counts every byte by link class. The CPU reference path of the library: it runs the
 * very same schedule classes as the CUDA backend.
 *
 * <p>A world that saw a rank fail stays failed; make a new one.
 */
public final class CpuWorld implements AutoCloseable {
    private static final AtomicInteger WORLDS = new AtomicInteger();

    private final CpuFabric fabric;
    private final List<CpuRankDevice> devices = new ArrayList<>();
    private final String threadPrefix;
    private boolean closed;

    private CpuWorld(Topology topology, CpuOptions options) {
        this.fabric = new CpuFabric(topology, options);
        this.threadPrefix = "sf-cpu" + WORLDS.incrementAndGet() + "-";
        for (int r = 0; r < topology.worldSize(); r++) {
            devices.add(new CpuRankDevice(fabric, r, threadPrefix));
        }
    }

    public static CpuWorld create(Topology topology, CpuOptions options) {
        return new CpuWorld(topology, options);
    }

    public static CpuWorld create(Topology topology) {
        return create(topology, CpuOptions.defaults());
    }

    public Topology topology() {
        return fabric.topology;
    }

    public CpuOptions options() {
        return fabric.options;
    }

    public CpuRankDevice device(int rank) {
        return devices.get(rank);
    }

    /** Prefix of every thread this world starts (leak checks). */
    public String threadPrefix() {
        return threadPrefix;
    }

    /**
     * Runs {@code body} on every rank at once, each on its own host thread, and returns the results by
     * rank. If any rank fails, every other rank is stopped and the first failure is thrown.
     */
    public <T> List<T> run(Function<CpuRankDevice, T> body) {
        if (closed) {
            throw new IllegalStateException("world is closed");
        }
        int n = devices.size();
        List<T> results = new ArrayList<>(java.util.Collections.nCopies(n, null));
        List<Thread> threads = new ArrayList<>();
        Throwable[] errors = new Throwable[n];
        for (int r = 0; r < n; r++) {
            int rank = r;
            threads.add(Thread.ofPlatform().daemon().name(threadPrefix + "host" + r).start(() -> {
                try {
                    results.set(rank, body.apply(devices.get(rank)));
                } catch (Throwable t) {
                    errors[rank] = t;
                    fabric.fail(rank, t);
                    fabric.signalAll();
                }
            }));
        }
        long budget = fabric.timeout().toMillis() * 4 + 10_000;
        long deadline = System.currentTimeMillis() + budget;
        for (Thread t : threads) {
            try {
                t.join(Math.max(1, deadline - System.currentTimeMillis()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new StreamFusionException("interrupted while waiting for the ranks", e);
            }
            if (t.isAlive()) {
                fabric.fail(-1, new StreamFusionException(t.getName() + " did not finish within " + budget + " ms"));
                fabric.signalAll();
            }
        }
        CpuFabric.Failure f = fabric.failure();
        if (f != null) {
            Throwable root = f.cause();
            for (int r = 0; r < n; r++) {
                if (errors[r] != null && errors[r] != root && !(errors[r] instanceof RankFailedException)) {
                    root.addSuppressed(errors[r]);
                }
            }
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

    /** Bytes moved by all ranks over one link class since the last reset. */
    public long bytes(LinkClass c) {
        long s = 0;
        for (int r = 0; r < devices.size(); r++) {
            s += fabric.bytes(r, c);
        }
        return s;
    }

    /** Bytes that {@code rank} initiated (put, get, or sent) over one link class. */
    public long bytes(int rank, LinkClass c) {
        return fabric.bytes(rank, c);
    }

    public void resetCounters() {
        fabric.resetCounters();
    }

    /** Whether a rank of this world has failed. */
    public boolean failed() {
        return fabric.failure() != null;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<Thread> closers = new ArrayList<>();
        for (CpuRankDevice d : devices) {
            // Arena close is collective (symmetric free), so every rank closes on its own thread.
            closers.add(Thread.ofPlatform().daemon().name(threadPrefix + "close" + d.rank()).start(d::closeAll));
        }
        for (Thread t : closers) {
            try {
                t.join(fabric.timeout().toMillis() * 2 + 5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
