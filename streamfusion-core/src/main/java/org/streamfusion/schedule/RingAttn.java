package org.streamfusion.schedule;

import java.util.ArrayList;
import java.util.List;
import org.streamfusion.ProcessGroup;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.Chunks;
import org.streamfusion.backend.Communicator;
import org.streamfusion.backend.Communicator.Transfer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Event;
import org.streamfusion.backend.KvChunk;
import org.streamfusion.backend.Kernels;
import org.streamfusion.backend.QChunk;
import org.streamfusion.backend.Stream;

/**
 * Ring attention over a ring group of {@code r} members (spec, section 3): every member keeps its Q and
 * folds the K, V block of every member into the state, one fused launch per ring step, while the next
 * block travels on the ring stream into the other of two slots.
 *
 * <ul>
 *   <li>{@link #pull} (one-sided, {@code RingAttn} of StreamFusion): at step {@code s} GatherPull the block
 *       of member {@code (b+s) % r} straight from its symmetric memory; no forwarding chain.</li>
 *   <li>{@link #pass} (two-sided): pass the block to the next member {@code r-1} times.</li>
 * </ul>
 *
 * The caller orders the local K, V before the first step on both the compute and the ring stream.
 */
final class RingAttn {
    private final boolean pull;
    private final ProcessGroup ring;
    private final int b;
    private final Communicator comm;
    private final Kernels kernels;
    private final Stream compute;
    private final Stream ringStream;
    private final double scale;
    private final Buffer[] slotK = new Buffer[2];
    private final Buffer[] slotV = new Buffer[2];
    private final Event[] slotFull = new Event[2];
    private final Event[] slotFree = new Event[2];
    private final List<Event> finalised = new ArrayList<>();
    private final DeviceArena arena;

    private RingAttn(boolean pull, ProcessGroup ring, int rank, DeviceArena arena, Communicator comm, Kernels kernels,
            Stream compute, Stream ringStream, double scale, long slotElements, org.streamfusion.DType dtype) {
        this.pull = pull;
        this.ring = ring;
        this.b = ring.indexOf(rank);
        this.comm = comm;
        this.kernels = kernels;
        this.compute = compute;
        this.ringStream = ringStream;
        this.scale = scale;
        this.arena = arena;
        if (ring.size() > 1) {
            for (int i = 0; i < 2; i++) {
                slotK[i] = arena.allocate(slotElements, dtype);
                slotV[i] = arena.allocate(slotElements, dtype);
                slotFull[i] = arena.createEvent();
                slotFree[i] = arena.createEvent();
            }
        }
    }

    /** One-sided form: the K, V blocks handed to {@link #run} must be symmetric. */
    static RingAttn pull(ProcessGroup ring, int rank, DeviceArena arena, Communicator comm, Kernels kernels,
            Stream compute, Stream ringStream, double scale, long slotElements, org.streamfusion.DType dtype) {
        return new RingAttn(true, ring, rank, arena, comm, kernels, compute, ringStream, scale, slotElements, dtype);
    }

    /** Two-sided form. */
    static RingAttn pass(ProcessGroup ring, int rank, DeviceArena arena, Communicator comm, Kernels kernels,
            Stream compute, Stream ringStream, double scale, long slotElements, org.streamfusion.DType dtype) {
        return new RingAttn(false, ring, rank, arena, comm, kernels, compute, ringStream, scale, slotElements, dtype);
    }

    /**
     * Folds the ring's K, V blocks (this member's block is {@code k, v}) into every group's state.
     * With {@code finalize}, the last step launches once per group, in list order, and the returned
     * events mark each group's output as written.
     */
    List<Event> run(List<QGroup> groups, Chunks k, Chunks v, boolean init, boolean finalize, String stage) {
        int r = ring.size();
        if (r > 1 && k.region().length() > slotK[0].length()) {
            throw new IllegalStateException("ring slot of " + slotK[0].length() + " elements < block of " + k.region().length());
        }
        List<Event> done = new ArrayList<>();
        for (int s = 0; s < r; s++) {
            // Issue the transfer for step s+1 before the launch of step s, so that the two overlap.
            if (s + 1 < r) {
                if (pull) {
                    pullInto(s + 1, k, v, stage);
                } else {
                    passInto(s, k, v, stage);
                }
            }
            Chunks ks = k;
            Chunks vs = v;
            int slot = -1;
            if (s > 0) {
                slot = pull ? s % 2 : (s - 1) % 2;
                compute.waitFor(slotFull[slot]);
                ks = k.over(slotK[slot]);
                vs = v.over(slotV[slot]);
            }
            List<KvChunk> kv = new ArrayList<>(k.count());
            for (int i = 0; i < k.count(); i++) {
                kv.add(new KvChunk(ks.chunk(i), vs.chunk(i)));
            }
            boolean first = init && s == 0;
            if (finalize && s == r - 1) {
                for (int g = 0; g < groups.size(); g++) {
                    kernels.attention(groups.get(g).chunks(true), kv, scale, first, true, compute);
                    Event e = finalisedEvent(g);
                    compute.record(e, stage + " finalise " + groups.get(g).name());
                    done.add(e);
                }
            } else {
                List<QChunk> all = new ArrayList<>();
                for (QGroup g : groups) {
                    all.addAll(g.chunks(false));
                }
                kernels.attention(all, kv, scale, first, false, compute);
            }
            if (slot >= 0) {
                compute.record(slotFree[slot], stage + " ring step " + s);
            }
        }
        return done;
    }

    /** Step {@code s} of the pull form: GatherPull member {@code (b+s) % r}'s block into slot {@code s % 2}. */
    private void pullInto(int s, Chunks k, Chunks v, String stage) {
        int slot = s % 2;
        int peer = ring.member((b + s) % ring.size());
        String step = stage + " RingAttn pull step " + s + " from rank " + peer;
        ringStream.waitFor(slotFree[slot]);
        comm.gatherPull(List.of(slotK[slot].slice(0, k.region().length())), k.region(), new int[] {peer}, ringStream, step);
        comm.gatherPull(List.of(slotV[slot].slice(0, v.region().length())), v.region(), new int[] {peer}, ringStream, step);
        ringStream.record(slotFull[slot], step);
    }

    /** Exchange {@code s} of the pass form: send the block of step {@code s} on, receive the next into slot {@code s % 2}. */
    private void passInto(int s, Chunks k, Chunks v, String stage) {
        int r = ring.size();
        int slot = s % 2;
        Buffer srcK = s == 0 ? k.region() : slotK[(s - 1) % 2].slice(0, k.region().length());
        Buffer srcV = s == 0 ? v.region() : slotV[(s - 1) % 2].slice(0, v.region().length());
        int next = ring.member((b + 1) % r);
        int prev = ring.member((b - 1 + r) % r);
        String step = stage + " ring pass " + s;
        ringStream.waitFor(slotFree[slot]);
        comm.exchange(List.of(new Transfer(next, srcK), new Transfer(next, srcV)),
                List.of(new Transfer(prev, slotK[slot].slice(0, k.region().length())),
                        new Transfer(prev, slotV[slot].slice(0, v.region().length()))),
                ringStream, step);
        ringStream.record(slotFull[slot], step);
    }

    private Event finalisedEvent(int g) {
        while (finalised.size() <= g) {
            finalised.add(arena.createEvent());
        }
        return finalised.get(g);
    }
}
