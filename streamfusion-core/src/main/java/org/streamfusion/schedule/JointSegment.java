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
 * the heads ({@code heads} from {@code headOffset}), as its method splits them, and the {@code r} ring members
 * that share the slice split the text queries between them: ring position {@code p} takes its share of the
 * {@code S_text} rows (the default split), so every text row of every head is computed once. Those queries
 * join the image queries in the schedule's folds; before the states are finalised the text keys are folded
 * into every Q chunk (per batch, up to its valid length, when prompt lengths differ). Afterwards every rank
 * sends its piece to every other, so each holds all of the text output, the same to the bit everywhere. That
 * exchange never carries FP8: the device's own communicator moves it.
 */
final class JointSegment {
    private final Kernels kernels;
    private final Communicator comm;
    private final double scale;
    private final int headOffset;
    private final int heads;
    private final int textRows;
    private final int ringSize;
    /** {@code sources[j][p]}: the rank that computes rows piece {@code p} of head slice {@code j}. */
    private final int[][] sources;
    private final int[] sliceOffsets;
    /** This rank's piece: its text rows, as a Q chunk's output, and its state; {@code null} without rows. */
    private final Chunks out;
    private final List<AttentionState> state;
    private final int firstRow;
    /** Piece {@code (j, p)} of every other rank lands in chunk {@code j*r + p}. */
    private final Chunks gathered;

    JointSegment(Plan plan, DeviceArena arena, DType dtype, Kernels kernels, Communicator comm, int headOffset,
            int heads, int ringPosition, int[][] sources, int[] sliceOffsets) {
        this.kernels = kernels;
        this.comm = comm;
        this.scale = plan.shape().softmaxScale();
        this.headOffset = headOffset;
        this.heads = heads;
        this.textRows = plan.jointTextRows();
        this.ringSize = sources[0].length;
        this.sources = new int[sources.length][];
        for (int j = 0; j < sources.length; j++) {
            this.sources[j] = sources[j].clone();
        }
        this.sliceOffsets = sliceOffsets.clone();
        int b = plan.shape().batch();
        int d = plan.shape().headDim();
        int longest = pieceRows(0);
        firstRow = pieceStart(ringPosition);
        int mine = pieceRows(ringPosition);
        if (mine > 0) {
            out = Chunks.allocate(arena, false, dtype, 1, b, longest, heads, d).withValidRows(new int[] {mine});
            state = AttentionState.allocate(arena, out);
        } else {
            out = null;
            state = null;
        }
        int[] valid = new int[sources.length * ringSize];
        for (int j = 0; j < sources.length; j++) {
            for (int p = 0; p < ringSize; p++) {
                valid[j * ringSize + p] = Math.max(1, pieceRows(p)); // an empty piece is never read
            }
        }
        gathered = Chunks.allocate(arena, false, dtype, valid.length, b, longest, heads, d).withValidRows(valid);
    }

    /** Text rows of ring position {@code p}'s piece: the default split of {@code S_text} over the ring. */
    private int pieceRows(int p) {
        return textRows / ringSize + (p < textRows % ringSize ? 1 : 0);
    }

    private int pieceStart(int p) {
        return p * (textRows / ringSize) + Math.min(p, textRows % ringSize);
    }

    /** This rank's text queries with their state and output, or {@code null} when its piece is empty. */
    QGroup group(JointText text) {
        if (out == null) {
            return null;
        }
        TensorView q = text.q().headSlice(headOffset, heads).rowSlice(firstRow, out.validRows(0));
        return new QGroup("text Q", List.of(q), state, out.views());
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

    /** Every piece from the rank that computed it to every other rank, then each into its rows and heads of o. */
    void gather(JointText text, Stream stream, String step) {
        List<Transfer> sends = new ArrayList<>();
        if (out != null) {
            for (int r = 0; r < comm.worldSize(); r++) {
                if (r != comm.rank()) {
                    sends.add(new Transfer(r, out.chunkBuffer(0), out.rowElements()));
                }
            }
        }
        List<Transfer> recvs = new ArrayList<>();
        for (int j = 0; j < sources.length; j++) {
            for (int p = 0; p < ringSize; p++) {
                if (pieceRows(p) > 0 && sources[j][p] != comm.rank()) {
                    recvs.add(new Transfer(sources[j][p], gathered.chunkBuffer(j * ringSize + p), gathered.rowElements()));
                }
            }
        }
        if (!sends.isEmpty() || !recvs.isEmpty()) {
            comm.exchange(sends, recvs, stream, step + " text O pieces");
        }
        for (int j = 0; j < sources.length; j++) {
            for (int p = 0; p < ringSize; p++) {
                int rows = pieceRows(p);
                if (rows == 0) {
                    continue;
                }
                TensorView from = sources[j][p] == comm.rank() ? out.chunk(0) : gathered.chunk(j * ringSize + p);
                kernels.copy(from, text.o().headSlice(sliceOffsets[j], heads).rowSlice(pieceStart(p), rows), stream);
            }
        }
    }
}
