package org.streamfusion.cpu;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import org.streamfusion.InvalidStateException;

/**
 * The symmetric heap of a CPU world: allocation {@code #i} of every rank, by index. An entry freed on every
 * rank leaves the map, so that a long-lived world that builds and closes many layers holds nothing of them.
 */
final class SymmetricHeap {
    private final int worldSize;
    private final Map<Integer, MemorySegment[]> segments = new HashMap<>();
    private final Map<Integer, long[]> sizes = new HashMap<>();
    private final int[] count;

    SymmetricHeap(int worldSize) {
        this.worldSize = worldSize;
        this.count = new int[worldSize];
    }

    /** This rank's next allocation; the caller then waits for every rank (a host barrier). */
    synchronized int add(int rank, MemorySegment segment) {
        int index = count[rank]++;
        segments.computeIfAbsent(index, k -> new MemorySegment[worldSize])[rank] = segment;
        sizes.computeIfAbsent(index, k -> new long[worldSize])[rank] = segment.byteSize();
        return index;
    }

    /** After the host barrier: every rank allocated the same size as allocation {@code #index}. */
    synchronized void checkSameSize(int index, MemorySegment segment) {
        long[] s = sizes.get(index);
        for (int p = 0; p < worldSize; p++) {
            if (s[p] != segment.byteSize()) {
                throw new InvalidStateException("symmetric allocation #" + index + " differs between ranks: "
                        + Arrays.toString(s) + " bytes (rule: every rank allocates the same sizes in the same order)");
            }
        }
    }

    synchronized MemorySegment segment(int index, int pe) {
        MemorySegment[] s = segments.get(index);
        MemorySegment seg = s == null ? null : s[pe];
        if (seg == null || !seg.scope().isAlive()) {
            throw new InvalidStateException("symmetric allocation #" + index + " is not live on rank " + pe);
        }
        return seg;
    }

    synchronized void free(int rank, int index) {
        MemorySegment[] s = segments.get(index);
        if (s != null) {
            s[rank] = null;
            if (Arrays.stream(s).allMatch(Objects::isNull)) {
                segments.remove(index);
                sizes.remove(index);
            }
        }
    }

    /** Allocations still live on some rank (leak checks). */
    synchronized int live() {
        return segments.size();
    }
}
