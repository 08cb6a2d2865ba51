package org.streamfusion.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BiConsumer;
import org.streamfusion.InvalidStateException;

/**
 * Recording work over many ranks on up to one thread per processor: consecutive blocks of ranks, each into its own
 * list (a rank records into its own streams only), joined in the order a single thread would have made. The threads
 * are gone when {@link #run} returns.
 */
final class RankBlocks {
    /** Ranks per thread at least: below it a thread costs more than it saves. */
    private static final int RANKS_PER_THREAD = 64;

    /** At most this many threads (0: as many as there are processors). */
    private final int threads;

    RankBlocks(int threads) {
        this.threads = threads;
    }

    /**
     * Runs {@code task} for each of {@code ranks}, in order within a block, each block's streams into its own list,
     * and appends the lists to {@code streams} in block order; {@code what} names the work in an error.
     */
    void run(String what, int[] ranks, List<SimStream> streams, BiConsumer<Integer, List<SimStream>> task) {
        int processors = Runtime.getRuntime().availableProcessors();
        int count = Math.min(threads > 0 ? threads : processors, ranks.length / RANKS_PER_THREAD);
        if (count < 2) {
            for (int rank : ranks) {
                task.accept(rank, streams);
            }
            return;
        }
        List<List<SimStream>> blocks = new ArrayList<>();
        List<Future<?>> done = new ArrayList<>();
        try (var pool = Executors.newFixedThreadPool(count,
                Thread.ofPlatform().name("sf-sim-record-", 0).daemon(true).factory())) {
            for (int t = 0; t < count; t++) {
                int from = (int) ((long) ranks.length * t / count);
                int to = (int) ((long) ranks.length * (t + 1) / count);
                List<SimStream> block = new ArrayList<>();
                blocks.add(block);
                done.add(pool.submit(() -> {
                    for (int i = from; i < to; i++) {
                        task.accept(ranks[i], block);
                    }
                }));
            }
            Throwable first = null;
            for (Future<?> f : done) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    if (first == null) {
                        first = e.getCause();
                    } else {
                        first.addSuppressed(e.getCause());
                    }
                }
            }
            if (first instanceof RuntimeException r) {
                throw r;
            }
            if (first instanceof Error err) {
                throw err;
            }
            if (first != null) {
                throw new InvalidStateException(what + " failed", first);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InvalidStateException("interrupted while " + what, e);
        }
        blocks.forEach(streams::addAll);
    }
}
