package org.streamfusion.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import java.util.function.Supplier;

/**
 * The cores of one world, shared by its ranks' kernels. A rank's stream thread runs one kernel at a time; while
 * a rank waits for a peer, its core would idle, so a large kernel runs its independent parts here and every
 * rank's parts share every core. Made with the world, its threads kept alive while the world lives (so a layer
 * starts none once they exist) and stopped when it closes.
 */
final class ComputePool {
    /** Below this many multiply-adds a kernel runs on its stream thread: a part costs a few microseconds to hand over. */
    static final long PARALLEL_WORK = 1L << 22;

    private final ForkJoinPool pool;
    private final int parallelism;

    ComputePool(String prefix, int parallelism) {
        this.parallelism = parallelism;
        AtomicInteger count = new AtomicInteger();
        ForkJoinPool.ForkJoinWorkerThreadFactory factory = p -> {
            ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
            t.setName(prefix + "compute-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        // Core threads = parallelism with a day's keep-alive: a world's layers do not start and stop threads.
        this.pool = new ForkJoinPool(parallelism, factory, null, false, parallelism, parallelism, 1, p -> true,
                1, TimeUnit.DAYS);
    }

    /** A pool with one part per core of this machine. */
    static ComputePool forThisMachine(String prefix) {
        return new ComputePool(prefix, Runtime.getRuntime().availableProcessors());
    }

    /**
     * Runs a part for each of {@code 0..parts-1} and returns when all have run; inline when {@code work}
     * (multiply-adds) is small or there is one part. The caller and up to {@code parallelism - 1} pool threads
     * claim parts one at a time, so a caller whose helpers are queued behind other ranks' parts runs the rest
     * itself and never waits for a part nobody has started. Each slice that claims a part asks {@code runner}
     * once for its runner (which may hold that slice's scratch). The first part to throw is rethrown, after
     * every part already running has ended.
     */
    void forEach(int parts, long work, Supplier<IntConsumer> runner) {
        int slices = work < PARALLEL_WORK ? 1 : Math.max(1, Math.min(parts, parallelism));
        Claims claims = new Claims(parts);
        for (int slice = 1; slice < slices; slice++) {
            try {
                pool.execute(() -> claims.runSlice(runner));
            } catch (RejectedExecutionException e) {
                break; // the world is closing: this thread runs the parts no helper took
            }
        }
        claims.runSlice(runner);
        claims.awaitRunning();
        if (claims.error instanceof RuntimeException e) {
            throw e;
        }
        if (claims.error instanceof Error e) {
            throw e;
        }
    }

    /** The parts of one {@link #forEach}: the next unclaimed part, how many are running, the first failure. */
    private static final class Claims {
        private final int parts;
        private int next;
        private int running;
        private Throwable error;

        Claims(int parts) {
            this.parts = parts;
        }

        void runSlice(Supplier<IntConsumer> runner) {
            IntConsumer part = null;
            int index;
            while ((index = claim()) >= 0) {
                Throwable failure = null;
                try {
                    if (part == null) {
                        part = runner.get();
                    }
                    part.accept(index);
                } catch (RuntimeException | Error e) {
                    failure = e;
                }
                done(failure);
            }
        }

        /** The next part to run, or -1 once all are claimed or one has failed. */
        private synchronized int claim() {
            if (error != null || next >= parts) {
                return -1;
            }
            running++;
            return next++;
        }

        private synchronized void done(Throwable failure) {
            if (failure != null && error == null) {
                error = failure;
            }
            if (--running == 0) {
                notifyAll();
            }
        }

        /**
         * Waits for the parts other threads are running; no part can be claimed any more (the caller's own
         * slice ended), and a running part is bounded compute, so the wait ends. An interrupt is kept for the
         * caller: returning while a part still writes would hand its memory back too early.
         */
        synchronized void awaitRunning() {
            boolean interrupted = false;
            while (running > 0) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Stops the threads; parts still queued are dropped (the world's streams have stopped). */
    void close() {
        pool.shutdownNow();
    }
}
