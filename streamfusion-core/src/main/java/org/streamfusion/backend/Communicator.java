package org.streamfusion.backend;

import java.util.List;

/**
 * Moves bytes between ranks. The four one-sided primitives of the spec (section 5) and the two-sided
 * grouped send/recv that NCCL offers. Every operation is stream-ordered; {@code step} names the
 * schedule step in timeout and failure messages.
 */
public interface Communicator {
    int rank();

    int worldSize();

    /** Creates the team of {@code group}. Collective: every rank calls it for every group, in the same order. */
    Team team(org.streamfusion.ProcessGroup group);

    /** {@code ScatterPush}: writes {@code srcs[i]} into the symmetric {@code dst} on {@code pes[i]}. */
    void scatterPush(List<Buffer> srcs, Buffer dst, int[] pes, Stream stream, String step);

    /** {@code GatherPull}: reads the symmetric {@code src} on {@code pes[i]} into {@code dsts[i]}. */
    void gatherPull(List<Buffer> dsts, Buffer src, int[] pes, Stream stream, String step);

    /** {@code Barrier}: every member of the team reached this point and this rank's prior puts are complete. */
    void barrier(Team team, Stream stream, String step);

    /** {@code BarrierAll}: the same over all ranks. */
    void barrierAll(Stream stream, String step);

    /** One group of sends and receives (NCCL group semantics); matched in order per peer pair. */
    void exchange(List<Transfer> sends, List<Transfer> recvs, Stream stream, String step);

    /** A send to, or a receive from, {@code peer}. */
    record Transfer(int peer, Buffer buffer) {
    }
}
