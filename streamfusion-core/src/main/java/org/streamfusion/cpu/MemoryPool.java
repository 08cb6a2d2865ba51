package org.streamfusion.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedList;
import java.util.List;

/**
 * Native memory of one CPU world kept between arenas, so that a layer built anew for every call (as
 * {@link ShardedAttention#forward} does) reuses the pages of the last one. Fresh memory costs every call a page
 * fault and the kernel's zeroing per 4 KiB page, then Java's zeroing: a JFR profile of
 * {@code ShardedAttention.forward} at S=2048 showed up to a third of the process's samples there, and up to
 * 10,000 page faults per call, varying by method with how the allocator returned memory to the system.
 *
 * <p>A block is reused only at exactly its size. Free blocks never exceed the most bytes the world has held
 * in blocks at once, nor, with those in use, the world's memory limit; the oldest go first. Each block has
 * its own shared arena, closed when the block leaves the pool or the world closes.
 */
final class MemoryPool {
    /** One allocation: its own arena, so that it can be freed alone. */
    record Block(Arena arena, MemorySegment segment) {
        long bytes() {
            return segment.byteSize();
        }
    }

    private final long limit;
    private final LinkedList<Block> free = new LinkedList<>(); // oldest first; guarded by this
    private long freeBytes; // guarded by this
    private long inUse; // guarded by this
    private long peakInUse; // guarded by this
    private boolean closed; // guarded by this

    /** {@code limit}: the most bytes the pool's blocks may hold, free and in use together. */
    MemoryPool(long limit) {
        this.limit = limit;
    }

    /** A block of exactly {@code bytes}, 64-byte aligned: the newest free one of that size, else a new one. */
    Block take(long bytes) {
        List<Block> evicted = new ArrayList<>();
        Block block = null;
        synchronized (this) {
            Iterator<Block> newestFirst = free.descendingIterator();
            while (newestFirst.hasNext()) {
                Block b = newestFirst.next();
                if (b.bytes() == bytes) {
                    newestFirst.remove();
                    freeBytes -= bytes;
                    block = b;
                    break;
                }
            }
            if (block == null) {
                while (!free.isEmpty() && freeBytes + inUse + bytes > limit) {
                    evicted.add(evictOldest());
                }
            }
            inUse += bytes;
            peakInUse = Math.max(peakInUse, inUse);
        }
        close(evicted);
        if (block != null) {
            return block;
        }
        Arena arena = Arena.ofShared();
        try {
            return new Block(arena, arena.allocate(bytes, 64));
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            synchronized (this) {
                inUse -= bytes;
            }
            throw e;
        }
    }

    /**
     * Blocks back: kept for reuse when {@code reusable}, else freed. Not reusable is memory that something
     * may still touch: a stream that did not stop, a peer of a failed world.
     */
    void give(List<Block> blocks, boolean reusable) {
        List<Block> closing = new ArrayList<>();
        synchronized (this) {
            for (Block b : blocks) {
                inUse -= b.bytes();
                if (reusable && !closed) {
                    free.addLast(b);
                    freeBytes += b.bytes();
                } else {
                    closing.add(b);
                }
            }
            while (!free.isEmpty() && (freeBytes > peakInUse || freeBytes + inUse > limit)) {
                closing.add(evictOldest());
            }
        }
        close(closing);
    }

    private Block evictOldest() {
        Block b = free.removeFirst();
        freeBytes -= b.bytes();
        return b;
    }

    /** Frees every free block; blocks still in use are freed when given back. */
    void close() {
        List<Block> all;
        synchronized (this) {
            closed = true;
            all = new ArrayList<>(free);
            free.clear();
            freeBytes = 0;
        }
        close(all);
    }

    /** {@return bytes in free blocks (tests)} */
    synchronized long freeBytes() {
        return freeBytes;
    }

    private static void close(List<Block> blocks) {
        for (Block b : blocks) {
            b.arena().close();
        }
    }
}
