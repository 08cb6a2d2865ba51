package org.streamfusion.schedule;

import java.util.ArrayList;
import java.util.List;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.DeviceMesh;
import org.streamfusion.JointText;
import org.streamfusion.Plan;
import org.streamfusion.ProcessGroup;
import org.streamfusion.backend.Event;
import org.streamfusion.backend.TensorView;
import org.streamfusion.spi.AttentionState;
import org.streamfusion.spi.Chunks;
import org.streamfusion.spi.QChunk;
import org.streamfusion.spi.RankBackend;

/**
 * Ulysses all-to-all of degree {@code u}, then two-sided ring attention of degree {@code r}, then the
 * reverse all-to-all: USP (Fang and Zhao). ULYSSES ({@code r = 1}), RING ({@code u = 1}) and TAS are the
 * same schedule on other meshes; only the groups the {@link DeviceMesh} hands out differ.
 * Nothing is overlapped but the ring's transfers with its own launches.
 */
final class UlyssesRingAttention extends ScheduledAttention {
    private final Event entry;
    private final Event scattered;
    private final Event gathered;
    private final int u;
    private final UlyssesAllToAll a2a;
    /** Whether Q, K and V go in one exchange ({@link org.streamfusion.QkvExchange}). */
    private final boolean grouped;
    /**
     * {@code u} chunks {@code [B, S/N, H/u, D]} each: member j's tokens for this rank's heads. With {@code u = 1}
     * {@code qU} and {@code oU} are {@code null}: the layer reads and writes the caller's views.
     */
    private final Chunks qU;
    private final Chunks kU;
    private final Chunks vU;
    private final Chunks oU;
    private final List<AttentionState> states;
    private final RingAttn ring;
    /** Real rows of each chunk of each ring member's K, V block, by ring position. */
    private final int[][] blockRows;
    /** The joint text segment, or {@code null}; its Q slice is this rank's Ulysses heads. */
    private final JointSegment joint;
    private final Event finalised;

    UlyssesRingAttention(Plan plan, RankBackend device) {
        super(plan, device);
        AttentionShape s = plan.shape();
        DeviceMesh mesh = plan.mesh();
        int rank = device.rank();
        this.u = mesh.ulysses();
        int sl = plan.localSeqLen();
        int hu = s.heads() / u;
        DType dt = device.storageType(s.dtype());
        try {
            entry = arena.createEvent();
            scattered = arena.createEvent();
            gathered = arena.createEvent();
            // With u = 1 the all-to-all is the identity: the kernels read Q from the caller's view and write O
            // into the caller's view, and only K, V are packed, once, so the ring can forward one region
            // whatever the caller's strides.
            // Chunks are sl = the longest shard's rows; chunk j holds member j's real rows (section 3.6).
            grouped = plan.groupsQkv(dt);
            List<Chunks> staging = new ArrayList<>(3);
            for (int tensor = 0; tensor < (u == 1 ? 0 : grouped ? 3 : 1); tensor++) {
                staging.add(Chunks.allocate(arena, false, dt, u, s.batch(), sl, hu, s.headDim())
                        .withValidRows(rowsOf(rank, u)));
            }
            a2a = u > 1 ? new UlyssesAllToAll(mesh.ulyssesGroup(rank), comm, kernels, staging) : null;
            int[] members = ulyssesRows(mesh, rank);
            qU = u > 1 ? Chunks.allocate(arena, false, dt, u, s.batch(), sl, hu, s.headDim()).withValidRows(members)
                    : null;
            kU = Chunks.allocate(arena, false, dt, u, s.batch(), sl, hu, s.headDim()).withValidRows(members);
            vU = Chunks.allocate(arena, false, dt, u, s.batch(), sl, hu, s.headDim()).withValidRows(members);
            oU = u > 1 ? Chunks.allocate(arena, false, dt, u, s.batch(), sl, hu, s.headDim()).withValidRows(members)
                    : null;
            blockRows = new int[mesh.ring()][];
            for (int p = 0; p < mesh.ring(); p++) {
                blockRows[p] = ulyssesRows(mesh, mesh.ringGroup(rank).member(p));
            }
            states = u > 1 ? AttentionState.allocate(arena, qU)
                    : AttentionState.allocate(arena, 1, s.batch(), sl, hu, s.headDim(), members);
            ring = new RingAttn(mesh.ringGroup(rank), rank, arena, RingTransport.pass(comm), kernels,
                    compute, ringStream, s.softmaxScale(), kU.region().length(), dt);
            finalised = arena.createEvent();
            if (plan.jointTextRows() > 0) {
                // Slice j is Ulysses member j's heads; ring position p computes its share of the text rows.
                ProcessGroup g = mesh.ulyssesGroup(rank);
                ProcessGroup ringOfRank = mesh.ringGroup(rank);
                int[][] sources = new int[u][mesh.ring()];
                int[] offsets = new int[u];
                for (int j = 0; j < u; j++) {
                    offsets[j] = j * hu;
                    for (int p = 0; p < mesh.ring(); p++) {
                        sources[j][p] = mesh.ulyssesGroup(ringOfRank.member(p)).member(j);
                    }
                }
                joint = new JointSegment(plan, arena, dt, kernels, device.communicator(), g.indexOf(rank) * hu,
                        hu, ringOfRank.indexOf(rank), sources, offsets);
            } else {
                joint = null;
            }
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Shard rows of each member of {@code rank}'s Ulysses group: the real rows of its chunks after the all-to-all. */
    private int[] ulyssesRows(DeviceMesh mesh, int rank) {
        ProcessGroup g = mesh.ulyssesGroup(rank);
        int[] rows = new int[g.size()];
        for (int j = 0; j < rows.length; j++) {
            rows[j] = plan.shardRows(g.member(j));
        }
        return rows;
    }

    @Override
    protected void enqueue(TensorView q, TensorView k, TensorView v, TensorView o, JointText text) {
        String m = plan.method().name();
        compute.record(entry, m + " entry");
        commStream.waitFor(entry);
        if (grouped) {
            a2a.scatterHeads(List.of(q, k, v), List.of(qU, kU, vU), commStream, m + " all-to-all Q,K,V");
        } else if (u > 1) {
            a2a.scatterHeads(List.of(q), List.of(qU), commStream, m + " all-to-all Q");
            a2a.scatterHeads(List.of(k), List.of(kU), commStream, m + " all-to-all K");
            a2a.scatterHeads(List.of(v), List.of(vU), commStream, m + " all-to-all V");
        } else {
            kernels.copy(k, kU.chunk(0), commStream);
            kernels.copy(v, vU.chunk(0), commStream);
        }
        commStream.record(scattered, m + " all-to-all Q,K,V");
        compute.waitFor(scattered);
        ringStream.waitFor(scattered);
        QGroup group = u > 1 ? new QGroup("O", qU.views(), states, oU.views())
                : new QGroup("O", List.of(q), states, List.of(o));
        if (text == null) {
            ring.run(List.of(group), kU, vU, p -> blockRows[p], true, true, m);
        } else {
            // Joint: this rank's text queries ride the ring too; the text keys are folded before one finalisation.
            QGroup textGroup = joint.group(text);
            List<QGroup> groups = textGroup == null ? List.of(group) : List.of(group, textGroup);
            ring.run(groups, kU, vU, p -> blockRows[p], true, false, m);
            List<QChunk> all = new ArrayList<>();
            groups.forEach(g -> all.addAll(g.chunks(false)));
            joint.foldText(all, text, compute);
            joint.finalizeAll(groups, compute);
        }
        compute.record(finalised, m + " finalised");
        commStream.waitFor(finalised);
        if (u > 1) {
            a2a.gatherHeads(oU, o, commStream, m + " all-to-all O");
        }
        if (text != null) {
            joint.gather(text, commStream, m);
        }
        commStream.record(gathered, m + " all-to-all O");
        compute.waitFor(gathered);
    }
}
