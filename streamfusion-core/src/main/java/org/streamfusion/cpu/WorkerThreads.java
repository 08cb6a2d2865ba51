package org.streamfusion.cpu;

import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The platform threads of one world: its ranks' host threads and stream workers. Started with the world
 * (one host and three stream threads per rank, what one layer uses) and reused by every run and every layer,
 * so that a {@code forward} starts no thread; more are started when more streams are open at once, and those
 * end after a minute idle. A thread takes the name of the work it runs ({@code <prefix>rank0-compute}), for
 * stack dumps and profiles, and every name starts with the world's prefix (leak checks).
 */
final class WorkerThreads {
    /** Threads per rank started with the world: the host thread and a layer's compute, comm and ring streams. */
    static final int PER_RANK = 4;

    private final String prefix;
    private final AtomicInteger started = new AtomicInteger();
    private final ThreadPoolExecutor pool;

    WorkerThreads(String prefix, int ranks) {
        this.prefix = prefix;
        // No queue: a task runs at once on an idle thread or on a new one; every task here may block for long.
        this.pool = new ThreadPoolExecutor(ranks * PER_RANK, Integer.MAX_VALUE, 60, TimeUnit.SECONDS,
                new SynchronousQueue<>(), this::newThread);
        pool.prestartAllCoreThreads();
    }

    private Thread newThread(Runnable r) {
        return Thread.ofPlatform().daemon().name(prefix + "idle" + started.incrementAndGet()).unstarted(r);
    }

    /** Runs {@code body} on a thread of this world named {@code <prefix><name>} while it runs. */
    void start(String name, Runnable body) {
        pool.execute(() -> {
            Thread me = Thread.currentThread();
            String idle = me.getName();
            me.setName(prefix + name);
            try {
                body.run();
            } finally {
                me.setName(idle);
            }
        });
    }

    /** {@return threads started so far (tests: a forward starts none)} */
    int threadsStarted() {
        return started.get();
    }

    /** Ends every thread: idle ones at once, busy ones interrupted after {@code graceMillis}. */
    void close(long graceMillis) {
        pool.shutdown();
        try {
            if (!pool.awaitTermination(graceMillis, TimeUnit.MILLISECONDS)) {
                pool.shutdownNow();
                pool.awaitTermination(graceMillis, TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            pool.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
