package org.streamfusion.gpu;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.streamfusion.CommunicationTimeoutException;
import org.streamfusion.InvalidStateException;
import org.streamfusion.RankFailedException;
import org.streamfusion.Timeouts;

/**
 * The host side of an in-process world: where the ranks of one process meet. Pure Java (no CUDA), so the
 * matching, ordering and guards are tested on the CPU. Three things meet here: two-sided sends, matched in
 * issue order per lane and ordered pair of ranks (NCCL's rule); boards, where each rank posts one value under
 * a key and reads its peers' (collectives, symmetric blocks); and the world's state (a failed rank, a rank
 * that left). Every wait is bounded by the timeout, names the rank, the step and whom it waits for, and
 * returns at once when a rank failed or a rank it needs has left.
 */
final class LocalFabric {
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private final int worldSize;
    private final Duration timeout;
    private final Map<String, ArrayDeque<Object>> channels = new HashMap<>();
    private final Map<String, Object[]> boards = new HashMap<>();
    private final Map<String, boolean[]> releases = new HashMap<>();
    private final boolean[] left;
    private int failedRank = -1;
    private Throwable failure;

    LocalFabric(int worldSize, Duration timeout) {
        this.worldSize = worldSize;
        this.timeout = Timeouts.check("timeout", timeout);
        this.left = new boolean[worldSize];
    }

    int worldSize() {
        return worldSize;
    }

    /** Fails the world: every wait, now and later, throws a {@link RankFailedException} naming {@code rank}. */
    synchronized void fail(int rank, Throwable cause) {
        if (failure == null) {
            failedRank = rank;
            failure = cause;
        }
        notifyAll();
    }

    synchronized boolean failed() {
        return failure != null;
    }

    /** {@return the rank that failed the world first, or -1} */
    synchronized int failedRank() {
        return failure == null ? -1 : failedRank;
    }

    /** {@code rank} closed its device: a peer that still waits for it will never be answered. */
    synchronized void leave(int rank) {
        left[rank] = true;
        notifyAll();
    }

    // ---- two-sided ---------------------------------------------------------------------------------

    private static String channel(String lane, int from, int to) {
        return lane + ":" + from + "->" + to;
    }

    /** Posts {@code send} as the next message from {@code from} to {@code to} on {@code lane}. */
    synchronized void post(String lane, int from, int to, Object send) {
        channels.computeIfAbsent(channel(lane, from, to), k -> new ArrayDeque<>()).addLast(send);
        notifyAll();
    }

    /** Takes the next message from {@code from} to {@code rank} on {@code lane}, in the order they were posted. */
    synchronized <T> T take(String lane, int from, int rank, String step, Class<T> type) {
        ArrayDeque<Object> queue = channels.computeIfAbsent(channel(lane, from, rank), k -> new ArrayDeque<>());
        await(() -> !queue.isEmpty(), rank, step, new int[] {from}, () -> "the matching send from rank " + from
                + " on lane '" + lane + "'");
        return type.cast(queue.removeFirst());
    }

    // ---- boards --------------------------------------------------------------------------------------

    /** Posts this rank's {@code value} under {@code key}; a key is posted once per rank. */
    synchronized void put(String key, int rank, Object value) {
        Object[] board = boards.computeIfAbsent(key, k -> new Object[worldSize]);
        if (board[rank] != null) {
            throw new InvalidStateException("rank " + rank + " posted '" + key + "' twice");
        }
        board[rank] = value;
        notifyAll();
    }

    /** The value {@code peer} posted under {@code key}, waiting for it (bounded). */
    synchronized <T> T get(String key, int peer, int rank, String step, Class<T> type) {
        Object[] board = boards.computeIfAbsent(key, k -> new Object[worldSize]);
        await(() -> board[peer] != null, rank, step, new int[] {peer}, () -> "rank " + peer + " to reach '" + key + "'");
        return type.cast(board[peer]);
    }

    /**
     * Collective over {@code members}: posts {@code mine} under {@code key} and returns every member's value in
     * member order, once all have posted (bounded).
     */
    synchronized <T> List<T> meet(String key, int[] members, int rank, String step, T mine, Class<T> type) {
        put(key, rank, mine);
        Object[] board = boards.get(key);
        await(() -> Arrays.stream(members).allMatch(m -> board[m] != null), rank, step, members,
                () -> "ranks " + missing(board, members) + " to reach '" + key + "'");
        List<T> values = new ArrayList<>(members.length);
        for (int m : members) {
            values.add(type.cast(board[m]));
        }
        return values;
    }

    /**
     * Marks {@code key} released by {@code rank}; for the last of {@code expected} ranks, returns the board's values
     * (it then owns their cleanup) and forgets the key; otherwise {@code null}.
     */
    synchronized Object[] release(String key, int rank, int expected) {
        boolean[] done = releases.computeIfAbsent(key, k -> new boolean[worldSize]);
        done[rank] = true;
        int count = 0;
        for (boolean d : done) {
            count += d ? 1 : 0;
        }
        if (count < expected) {
            return null;
        }
        releases.remove(key);
        Object[] values = boards.remove(key);
        return values == null ? new Object[worldSize] : values;
    }

    /** Removes and returns every value still posted under a key starting with {@code prefix} (a world's close). */
    synchronized List<Object> drain(String prefix) {
        List<Object> values = new ArrayList<>();
        boards.entrySet().removeIf(e -> {
            if (!e.getKey().startsWith(prefix)) {
                return false;
            }
            Arrays.stream(e.getValue()).filter(Objects::nonNull).forEach(values::add);
            return true;
        });
        releases.keySet().removeIf(k -> k.startsWith(prefix));
        return values;
    }

    /** Waits (bounded, as the class says) until {@code done} holds, for something {@code peer} does. */
    synchronized void awaitPeer(BooleanSupplier done, int peer, int rank, String step, Supplier<String> what) {
        await(done, rank, step, new int[] {peer}, what);
    }

    /** Wakes the waiters of {@link #awaitPeer} to check their conditions again. */
    synchronized void signal() {
        notifyAll();
    }

    private static String missing(Object[] board, int[] members) {
        return Arrays.toString(Arrays.stream(members).filter(m -> board[m] == null).toArray());
    }

    // ---- waiting ---------------------------------------------------------------------------------------

    /** Waits (holding this monitor, released while waiting) until {@code done}; bounded, as the class says. */
    private void await(BooleanSupplier done, int rank, String step, int[] peers, Supplier<String> what) {
        long deadline = Timeouts.deadlineNanos(timeout, 1);
        while (!done.getAsBoolean()) {
            if (failure != null) {
                throw new RankFailedException(failedRank, "rank " + rank + " stopped at step '" + step + "': rank "
                        + failedRank + " failed: " + failure.getMessage(), failure);
            }
            for (int peer : peers) {
                if (peer != rank && left[peer]) {
                    throw new RankFailedException(peer, "rank " + rank + " stopped at step '" + step + "': it waits for"
                            + " rank " + peer + ", which closed its device", null);
                }
            }
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                throw new CommunicationTimeoutException(rank, step, timeout, "waited for " + what.get());
            }
            try {
                TimeUnit.NANOSECONDS.timedWait(this, Math.min(remaining, POLL_NANOS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RankFailedException(rank, "rank " + rank + " interrupted at step '" + step + "'", e);
            }
        }
    }
}
