package org.streamfusion.spi;

import java.util.ArrayList;
import java.util.List;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.ProcessGroup;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.Stream;

/**
 * Moves bytes between ranks. The four one-sided primitives of docs/algorithms.md, section 5, and the two-sided
 * grouped send/recv that NCCL offers. Every operation is stream-ordered; {@code step} names the
 * schedule step in timeout and failure messages.
 */
public interface Communicator {
    int rank();

    int worldSize();

    /** Creates the team of {@code group}. Collective: every rank calls it for every group, in the same order. */
    Team team(ProcessGroup group);

    /** {@code ScatterPush}: writes {@code srcs[i]} into the symmetric {@code dst} on {@code pes[i]}. */
    void scatterPush(List<Buffer> srcs, Buffer dst, int[] pes, Stream stream, String step);

    /** {@code GatherPull}: reads the symmetric {@code src} on {@code pes[i]} into {@code dsts[i]}. */
    void gatherPull(List<Buffer> dsts, Buffer src, int[] pes, Stream stream, String step);

    /** {@code Barrier}: every member of the team reached this point and this rank's prior puts are complete. */
    void barrier(Team team, Stream stream, String step);

    /** {@code BarrierAll}: the same over all ranks. */
    void barrierAll(Stream stream, String step);

    /**
     * The name of the stream whose two-sided transfers form their own lane: a backend whose transfers on
     * one channel run in issue order whatever their streams (NCCL: one communicator) gives this stream's
     * transfers a channel of their own, so a ring pass does not wait behind all-to-alls issued before it
     * on another stream. Both sides of a transfer must use streams of the same lane.
     */
    String RING_LANE = "ring";

    /** One group of sends and receives (NCCL group semantics); matched in order per peer pair. */
    void exchange(List<Transfer> sends, List<Transfer> recvs, Stream stream, String step);

    /** Two-sided send of {@code buffer} to {@code peer}; completes when the peer's matching receive has it. */
    default void send(Buffer buffer, int peer, Stream stream, String step) {
        exchange(List.of(new Transfer(peer, buffer)), List.of(), stream, step);
    }

    /** Two-sided receive into {@code buffer} from {@code peer}. */
    default void recv(Buffer buffer, int peer, Stream stream, String step) {
        exchange(List.of(), List.of(new Transfer(peer, buffer)), stream, step);
    }

    /**
     * All-to-all over a group: {@code sends.get(j)} goes to member {@code j}, {@code recvs.get(j)} receives
     * from member {@code j} (this rank's own slot included), in one group.
     */
    default void allToAll(List<Buffer> sends, List<Buffer> recvs, ProcessGroup group, Stream stream,
            String step) {
        if (sends.size() != group.size() || recvs.size() != group.size()) {
            throw new InvalidArgumentException("step '" + step + "': all-to-all over " + group + " needs " + group.size()
                    + " send and receive buffers, got " + sends.size() + " and " + recvs.size());
        }
        List<Transfer> s = new ArrayList<>(group.size());
        List<Transfer> r = new ArrayList<>(group.size());
        for (int j = 0; j < group.size(); j++) {
            s.add(new Transfer(group.member(j), sends.get(j)));
            r.add(new Transfer(group.member(j), recvs.get(j)));
        }
        exchange(s, r, stream, step);
    }

    /**
     * A send to, or a receive from, {@code peer}. {@code rowElements} is the elements of one token's row in
     * {@code buffer} (its heads times D), the channels that FP8 between machines centres; 0 where the buffer
     * is not a tensor chunk, which such a link refuses to compress.
     */
    record Transfer(int peer, Buffer buffer, int rowElements) {
        public Transfer {
            if (rowElements < 0) {
                throw new InvalidArgumentException("a transfer's row of " + rowElements + " elements");
            }
        }

        /** A transfer of a buffer that is not a tensor chunk. */
        public Transfer(int peer, Buffer buffer) {
            this(peer, buffer, 0);
        }
    }
}
