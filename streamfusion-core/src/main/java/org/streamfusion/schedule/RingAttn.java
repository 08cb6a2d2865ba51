package org.streamfusion.schedule;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;
import org.streamfusion.DType;
import org.streamfusion.InvalidStateException;
import org.streamfusion.ProcessGroup;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Event;
import org.streamfusion.backend.Stream;
import org.streamfusion.schedule.RingTransport.RingStep;
import org.streamfusion.spi.Chunks;
import org.streamfusion.spi.Kernels;
import org.streamfusion.spi.KvChunk;
import org.streamfusion.spi.QChunk;

/**
 * Ring attention over a ring group of {@code r} members (docs/algorithms.md, section 3): every member
 * keeps its Q and folds the K, V block of every member into the state, one fused launch per ring step,
 * while the block of the next step travels on the ring stream into the other of two slots. How it
 * travels is the {@link RingTransport}'s business: pulled from its owner (StreamFusion's RingAttn) or
 * passed along the ring (two-sided).
 *
 * <p>The block of step {@code s} is member {@link RingTransport#blockOwner}'s ({@code b + s} pulled, {@code b - s}
 * passed) and lands in slot {@code s mod 2}; the caller orders the local K, V before the first step on both the
 * compute and the ring stream.
 */
final class RingAttn {
    private final ProcessGroup ring;
    private final int position;
    private final RingTransport transport;
    private final Kernels kernels;
    private final Stream compute;
    private final Stream ringStream;
    private final double scale;
    private final DeviceArena arena;
    private final Buffer[] slotK = new Buffer[2];
    private final Buffer[] slotV = new Buffer[2];
    private final Event[] slotFull = new Event[2];
    private final Event[] slotFree = new Event[2];
    private final List<Event> finalised = new ArrayList<>();

    RingAttn(ProcessGroup ring, int rank, DeviceArena arena, RingTransport transport, Kernels kernels, Stream compute,
            Stream ringStream, double scale, long slotElements, DType dtype) {
        this.ring = ring;
        this.position = ring.indexOf(rank);
        this.transport = transport;
        this.kernels = kernels;
        this.compute = compute;
        this.ringStream = ringStream;
        this.scale = scale;
        this.arena = arena;
        if (ring.size() > 1) {
            for (int slot = 0; slot < 2; slot++) {
                slotK[slot] = arena.allocate(slotElements, dtype);
                slotV[slot] = arena.allocate(slotElements, dtype);
                slotFull[slot] = arena.createEvent();
                slotFree[slot] = arena.createEvent();
            }
        }
    }

    /**
     * Folds the ring's K, V blocks (this member's block is {@code k, v}) into every group's state.
     * {@code blockRows} gives, for a ring position, the real rows of each chunk of that member's block (the
     * blocks travel padded). With {@code finalize}, the last step launches once per group, in list order, and
     * the returned events mark each group's output as written.
     */
    List<Event> run(List<QGroup> groups, Chunks k, Chunks v, IntFunction<int[]> blockRows, boolean init,
            boolean finalize, String stage) {
        int r = ring.size();
        if (r > 1 && k.region().length() > slotK[0].length()) {
            throw new InvalidStateException("ring slot of " + slotK[0].length() + " elements < block of " + k.region().length());
        }
        if (r > 1) {
            // Both slots are free once what is already on compute (the previous layer's steps) is done. Recorded
            // here, in this layer, so that every wait of the layer is on a record of the layer: a graph captured
            // from one layer holds no dependency on work before the capture (docs/graphs.md).
            compute.record(slotFree[0], stage + " slots free");
            compute.record(slotFree[1], stage + " slots free");
        }
        List<Event> done = new ArrayList<>();
        // Every step but a finalising last one folds all groups' chunks in one launch: the list is the same each step.
        List<QChunk> folded = new ArrayList<>();
        for (QGroup g : groups) {
            folded.addAll(g.chunks(false));
        }
        List<QChunk> all = List.copyOf(folded);
        // Per layer, not per step: the slots' views of this block length, and each slot's K, V chunks, which
        // serve every step whose block has the same real rows (all of them unless the shards are ragged).
        long length = k.region().length();
        Buffer[] intoK = new Buffer[2];
        Buffer[] intoV = new Buffer[2];
        Chunks[] overK = new Chunks[2];
        Chunks[] overV = new Chunks[2];
        if (r > 1) {
            for (int slot = 0; slot < 2; slot++) {
                intoK[slot] = slotK[slot].slice(0, length);
                intoV[slot] = slotV[slot].slice(0, length);
                overK[slot] = k.over(slotK[slot]);
                overV[slot] = v.over(slotV[slot]);
            }
        }
        int[][] kvRows = new int[2][];
        List<List<KvChunk>> kvOfSlot = new ArrayList<>(Arrays.asList(null, null));
        for (int s = 0; s < r; s++) {
            if (s + 1 < r) {
                fetch(s + 1, k, v, intoK, intoV, stage); // issued before step s's launch, so that the two overlap
            }
            int[] rows = blockRows.apply(transport.blockOwner(s, position, r));
            List<KvChunk> kv;
            if (s == 0) {
                kv = kvChunks(k.withValidRows(rows), v.withValidRows(rows));
            } else {
                int slot = s % 2;
                if (!Arrays.equals(rows, kvRows[slot])) {
                    kvRows[slot] = rows;
                    kvOfSlot.set(slot, kvChunks(overK[slot].withValidRows(rows), overV[slot].withValidRows(rows)));
                }
                kv = kvOfSlot.get(slot);
                compute.waitFor(slotFull[slot]);
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
                kernels.attention(all, kv, scale, first, false, compute);
            }
            if (s > 0) {
                compute.record(slotFree[s % 2], stage + " ring step " + s);
            }
        }
        return done;
    }

    private static List<KvChunk> kvChunks(Chunks k, Chunks v) {
        KvChunk[] kv = new KvChunk[k.count()];
        for (int i = 0; i < kv.length; i++) {
            kv[i] = new KvChunk(k.chunk(i), v.chunk(i));
        }
        return List.of(kv);
    }

    /** Brings the block of step {@code s} into slot {@code s mod 2} once the launch that last read it is done. */
    private void fetch(int s, Chunks k, Chunks v, Buffer[] intoK, Buffer[] intoV, String stage) {
        int slot = s % 2;
        Buffer previousK = s == 1 ? k.region() : intoK[(s - 1) % 2];
        Buffer previousV = s == 1 ? v.region() : intoV[(s - 1) % 2];
        String step = stage + " RingAttn step " + s;
        ringStream.waitFor(slotFree[slot]);
        transport.fetch(new RingStep(s, ring, position, k.region(), v.region(), previousK, previousV,
                intoK[slot], intoV[slot], k.rowElements()), ringStream, step);
        ringStream.record(slotFull[slot], step);
    }

    private Event finalisedEvent(int g) {
        while (finalised.size() <= g) {
            finalised.add(arena.createEvent());
        }
        return finalised.get(g);
    }
}
