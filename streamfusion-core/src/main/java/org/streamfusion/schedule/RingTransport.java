package org.streamfusion.schedule;

import java.util.List;
import org.streamfusion.ProcessGroup;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.Stream;
import org.streamfusion.spi.Communicator;
import org.streamfusion.spi.Communicator.Transfer;

/**
 * How {@link RingAttn} brings the K, V block of ring step {@code s} into a slot: the seam between the
 * ring's algorithm and its transport (docs/algorithms.md, section 3).
 */
interface RingTransport {
    /**
     * Issues, on {@code ringStream}, the transfer that fills {@code into} with the block of ring step
     * {@code s}: the block of member {@link #blockOwner}. {@code local} is this member's own block (the
     * one peers pull; symmetric in the pull form), {@code previous} the block of step {@code s - 1}
     * (the one the pass form forwards).
     */
    void fetch(RingStep s, Stream ringStream, String step);

    /** The ring position whose K, V block arrives at step {@code s} on the member at {@code position}. */
    int blockOwner(int s, int position, int ringSize);

    /** One ring step's buffers: {@code k, v} pairs of equal length, in rows of {@code rowElements} (heads times D). */
    record RingStep(int index, ProcessGroup ring, int position, Buffer localK, Buffer localV, Buffer previousK,
            Buffer previousV, Buffer intoK, Buffer intoV, int rowElements) {
    }

    /** StreamFusion's {@code RingAttn}: GatherPull member {@code (b + s) mod r}'s block straight from it; no forwarding chain. */
    static RingTransport pull(Communicator comm) {
        return new RingTransport() {
            @Override
            public void fetch(RingStep s, Stream ringStream, String step) {
                int[] owner = {s.ring().member(blockOwner(s.index(), s.position(), s.ring().size()))};
                String name = step + " GatherPull from rank " + owner[0];
                comm.gatherPull(List.of(s.intoK()), s.localK(), owner, ringStream, name);
                comm.gatherPull(List.of(s.intoV()), s.localV(), owner, ringStream, name);
            }

            @Override
            public int blockOwner(int s, int position, int ringSize) {
                return (position + s) % ringSize;
            }
        };
    }

    /** Two-sided ring: forward the previous block to the next member, receive the next block from the previous. */
    static RingTransport pass(Communicator comm) {
        return new RingTransport() {
            @Override
            public void fetch(RingStep s, Stream ringStream, String step) {
                int r = s.ring().size();
                int next = s.ring().member((s.position() + 1) % r);
                int prev = s.ring().member((s.position() - 1 + r) % r);
                int row = s.rowElements();
                comm.exchange(List.of(new Transfer(next, s.previousK(), row), new Transfer(next, s.previousV(), row)),
                        List.of(new Transfer(prev, s.intoK(), row), new Transfer(prev, s.intoV(), row)), ringStream,
                        step + " pass");
            }

            /** Each step forwards what arrived the step before: step {@code s} brings member {@code b - s}'s block. */
            @Override
            public int blockOwner(int s, int position, int ringSize) {
                return ((position - s) % ringSize + ringSize) % ringSize;
            }
        };
    }
}
