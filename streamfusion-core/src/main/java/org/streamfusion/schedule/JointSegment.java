package org.streamfusion.schedule;

import java.util.ArrayList;
import java.util.List;
import org.streamfusion.DType;
import org.streamfusion.JointText;
import org.streamfusion.Plan;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.spi.AttentionState;
import org.streamfusion.spi.Chunks;
import org.streamfusion.spi.Communicator;
import org.streamfusion.spi.Communicator.Transfer;
import org.streamfusion.spi.Kernels;
import org.streamfusion.spi.KvChunk;
import org.streamfusion.spi.QChunk;

/**
 * A plan's joint text segment on one rank (docs/algorithms.md, section 3.7). The rank attends for a slice of
 * the heads ({@code heads} from {@code headOffset}): its text queries for that slice join the image queries
 * in the schedule's folds, and before the states are finalised the text keys are folded into every Q chunk
 * (per batch, up to its valid length, when the prompt lengths differ). Afterwards the text O slices of all
 * ranks that hold distinct slices ({@code peers}, this one included, one per slice) are exchanged so that every
 * rank has all H heads.
 */
final class JointSegment {
    private final Kernels kernels;
    private final Communicator comm;
    private final double scale;
    private final int headOffset;
    private final int heads;
    /** One rank per head slice, in the same order on every member, and the head offset of each one's slice. */
    private final int[] peers;
    private final int[] peerOffsets;
    private final Chunks out;
    private final List<AttentionState> state;
    private final Chunks gathered;

    JointSegment(Plan plan, DeviceArena arena, DType dtype, Kernels kernels, Communicator comm, int headOffset,
            int heads, int[] peers, int[] peerOffsets) {
        this.kernels = kernels;
        this.comm = comm;
        this.scale = plan.shape().softmaxScale();
        this.headOffset = headOffset;
        this.heads = heads;
        this.peers = peers.clone();
        this.peerOffsets = peerOffsets.clone();
        int b = plan.shape().batch();
        int rows = plan.jointTextRows();
        int d = plan.shape().headDim();
        out = Chunks.allocate(arena, false, dtype, 1, b, rows, heads, d);
        state = AttentionState.allocate(arena, out);
        gathered = Chunks.allocate(arena, false, dtype, peers.length, b, rows, heads, d);
    }

    /** The text queries of this rank's head slice, with their state and output. */
    QGroup group(JointText text) {
        return new QGroup("text Q", List.of(text.q().headSlice(headOffset, heads)), state, out.views());
    }

    /** Folds the text keys of this rank's head slice into {@code chunks} (no init, no finalisation). */
    void foldText(List<QChunk> chunks, JointText text, Stream compute) {
        TensorView k = text.k().headSlice(headOffset, heads);
        TensorView v = text.v().headSlice(headOffset, heads);
        if (text.validRows() == null) {
            kernels.attention(chunks, List.of(new KvChunk(k, v)), scale, false, false, compute);
            return;
        }
        // Prompt lengths differ: one launch per batch, its keys cut at its valid length (none: nothing to fold).
        for (int b = 0; b < k.batch(); b++) {
            int valid = text.validRows(b);
            if (valid == 0) {
                continue;
            }
            List<QChunk> slice = new ArrayList<>(chunks.size());
            for (QChunk c : chunks) {
                slice.add(new QChunk(c.q().batchSlice(b, c.q().rows()), c.state().batchSlice(b), null));
            }
            kernels.attention(slice, List.of(new KvChunk(k.batchSlice(b, valid), v.batchSlice(b, valid))), scale, false,
                    false, compute);
        }
    }

    /** Finalises every chunk of {@code groups} into its output. */
    void finalizeAll(List<QGroup> groups, Stream compute) {
        for (QGroup g : groups) {
            for (QChunk c : g.chunks(true)) {
                kernels.finalizeState(c, compute);
            }
        }
    }

    /** Every rank's text O slice to every other, then each slice into its heads of {@code text.o()}. */
    void gather(JointText text, Stream stream, String step) {
        if (peers.length > 1) {
            List<Transfer> sends = new ArrayList<>(peers.length);
            List<Transfer> recvs = new ArrayList<>(peers.length);
            for (int j = 0; j < peers.length; j++) {
                sends.add(new Transfer(peers[j], out.chunkBuffer(0)));
                recvs.add(new Transfer(peers[j], gathered.chunkBuffer(j)));
            }
            comm.exchange(sends, recvs, stream, step + " text O all-gather");
        }
        for (int j = 0; j < peers.length; j++) {
            TensorView from = peers.length > 1 ? gathered.chunk(j) : out.chunk(0);
            kernels.copy(from, text.o().headSlice(peerOffsets[j], heads), stream);
        }
    }
}
