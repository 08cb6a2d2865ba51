package org.streamfusion.spi;

import java.lang.foreign.MemorySegment;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.backend.Buffer;
/**
 * The argument rules every {@link Communicator} enforces before it enqueues anything, in one place so
 * that both backends refuse the same calls with the same words.
 */
public final class TransferChecks {
    private TransferChecks() {
    }

    /** A peer is a rank of the world. */
    public static void peer(int peer, int worldSize, int rank, String step) {
        if (peer < 0 || peer >= worldSize) {
            throw new InvalidArgumentException("rank " + rank + " at step '" + step + "': peer " + peer
                    + " is outside the world of " + worldSize + " (rule: 0 <= peer < N)");
        }
    }

    /** ScatterPush and GatherPull take one buffer per PE, each PE a rank of the world. */
    public static void onePerPe(int buffers, int[] pes, int worldSize, int rank, String step) {
        if (buffers != pes.length) {
            throw new InvalidArgumentException("step '" + step + "': " + buffers + " buffers for " + pes.length
                    + " PEs (rule: one buffer per PE)");
        }
        for (int pe : pes) {
            peer(pe, worldSize, rank, step);
        }
    }

    /** Peers address only symmetric memory. */
    public static void symmetric(Buffer b, String step) {
        if (!b.isSymmetric()) {
            throw new InvalidArgumentException("step '" + step + "': one-sided access to memory that is not symmetric "
                    + "(rule: peers address only symmetric buffers)");
        }
    }

    /** A one-sided copy moves a whole buffer into one of the same size. */
    public static void sameSize(Buffer from, Buffer into, String step) {
        if (from.byteSize() != into.byteSize()) {
            throw new InvalidArgumentException("step '" + step + "': " + from.byteSize() + " bytes into "
                    + into.byteSize() + " (rule: source and destination have the same size)");
        }
    }

    /** Whether two address ranges share a byte (empty ranges never do). */
    public static boolean overlap(MemorySegment a, MemorySegment b) {
        return a.byteSize() > 0 && b.byteSize() > 0 && a.address() < b.address() + b.byteSize()
                && b.address() < a.address() + a.byteSize();
    }
}
