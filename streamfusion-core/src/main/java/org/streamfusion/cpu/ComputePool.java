package org.streamfusion.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import java.util.function.Supplier;
import org.streamfusion.RankFailedException;
import org.streamfusion.StreamFusionException;

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
     * Runs a part for each of {@code 0..parts-1}, in slices spread over the pool with the caller running one, and
     * returns when all have run; inline when {@code work} (multiply-adds) is small or there is one part. Each slice
     * asks {@code runner} once for its runner (which may hold that slice's scratch). The first part to throw is
     * rethrown.
     */
    void forEach(int parts, long work, Supplier<IntConsumer> runner) {
        int slices = work < PARALLEL_WORK ? 1 : Math.max(1, Math.min(parts, parallelism));
        List<Future<?>> handed = new ArrayList<>(slices - 1);
        for (int slice = 1; slice < slices; slice++) {
            int first = slice;
            handed.add(pool.submit(() -> {
                IntConsumer part = runner.get();
                for (int i = first; i < parts; i += slices) {
                    part.accept(i);
                }
            }));
        }
        RuntimeException error = null;
        try {
            IntConsumer part = runner.get();
            for (int i = 0; i < parts; i += slices) {
                part.accept(i);
            }
        } catch (RuntimeException e) {
            error = e;
        }
        for (Future<?> f : handed) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (error == null) {
                    error = e.getCause() instanceof RuntimeException re ? re
                            : new StreamFusionException("a kernel part failed", e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RankFailedException(-1, "interrupted while a kernel's parts ran", e);
            }
        }
        if (error != null) {
            throw error;
        }
    }

    /** Stops the threads; parts still queued are dropped (the world's streams have stopped). */
    void close() {
        pool.shutdownNow();
    }
}
