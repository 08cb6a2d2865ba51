package org.streamfusion.schedule;

import java.util.ArrayList;
import java.util.List;
import org.streamfusion.ProcessGroup;
import org.streamfusion.spi.Chunks;
import org.streamfusion.spi.Communicator;
import org.streamfusion.backend.Buffer;
import org.streamfusion.spi.Kernels;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;

/**
 * The two-sided Ulysses all-to-all of degree {@code u} over a group (docs/algorithms.md, section 3): gather the
 * sequence, scatter the heads. Member {@code j}'s tokens land in chunk {@code j} of the receiving
 * {@link Chunks}; they are never copied into one long sequence, the fused kernel reads them in place.
 */
final class UlyssesAllToAll {
    private final ProcessGroup group;
    private final Communicator comm;
    private final Kernels kernels;
    private final Chunks staging;

    /** {@code staging}: {@code u} chunks of {@code [B, R, H/u, D]} (R the longest shard's rows), for packing and for receiving O. */
    UlyssesAllToAll(ProcessGroup group, Communicator comm, Kernels kernels, Chunks staging) {
        this.group = group;
        this.comm = comm;
        this.kernels = kernels;
        this.staging = staging;
    }

    /** {@code [B, rows, H, D]} -> {@code u} chunks {@code [B, R, H/u, D]}, chunk j from member j (its real rows first). */
    void scatterHeads(TensorView x, Chunks out, Stream stream, String step) {
        int u = group.size();
        int hu = x.heads() / u;
        for (int a = 0; a < u; a++) {
            kernels.copy(x.headSlice(a * hu, hu), staging.chunk(a), stream);
        }
        comm.allToAll(chunkBuffers(staging), chunkBuffers(out), group, stream, step);
    }

    private static List<Buffer> chunkBuffers(Chunks c) {
        List<Buffer> b = new ArrayList<>(c.count());
        for (int i = 0; i < c.count(); i++) {
            b.add(c.chunkBuffer(i));
        }
        return b;
    }

    /** The reverse: chunk j of {@code o} goes back to member j, which writes it into heads {@code H_a} of {@code out}. */
    void gatherHeads(Chunks o, TensorView out, Stream stream, String step) {
        int u = group.size();
        int hu = out.heads() / u;
        comm.allToAll(chunkBuffers(o), chunkBuffers(staging), group, stream, step);
        for (int a = 0; a < u; a++) {
            kernels.copy(staging.chunk(a), out.headSlice(a * hu, hu), stream);
        }
    }
}
