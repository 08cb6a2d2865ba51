package org.streamfusion.schedule;

import java.util.ArrayList;
import java.util.List;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.ProcessGroup;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.spi.Chunks;
import org.streamfusion.spi.Communicator.Transfer;
import org.streamfusion.spi.Communicator;
import org.streamfusion.spi.Kernels;

/**
 * The two-sided Ulysses all-to-all of degree {@code u} over a group (docs/algorithms.md, section 3): gather the
 * sequence, scatter the heads. Member {@code j}'s tokens land in chunk {@code j} of the receiving
 * {@link Chunks}; they are never copied into one long sequence, the fused kernel reads them in place.
 * Several tensors may go in one grouped exchange ({@link org.streamfusion.QkvExchange}), each packed into its own staging.
 */
final class UlyssesAllToAll {
    private final ProcessGroup group;
    private final Communicator comm;
    private final Kernels kernels;
    private final List<Chunks> staging;

    /**
     * {@code staging}: per tensor sent in one exchange, {@code u} chunks of {@code [B, R, H/u, D]} (R the longest
     * shard's rows), for packing; the first also receives O.
     */
    UlyssesAllToAll(ProcessGroup group, Communicator comm, Kernels kernels, List<Chunks> staging) {
        this.group = group;
        this.comm = comm;
        this.kernels = kernels;
        this.staging = List.copyOf(staging);
    }

    /**
     * Each {@code [B, rows, H, D]} of {@code xs} -> {@code u} chunks {@code [B, R, H/u, D]} of the matching
     * {@code outs}, chunk j from member j (its real rows first), all in one exchange. Per peer the tensors
     * go in list order on both sides, which is what matches them (NCCL group semantics).
     */
    void scatterHeads(List<TensorView> xs, List<Chunks> outs, Stream stream, String step) {
        if (xs.size() > staging.size() || outs.size() != xs.size()) {
            throw new InvalidArgumentException("step '" + step + "': " + xs.size() + " tensors into " + outs.size()
                    + " outputs with staging for " + staging.size());
        }
        int u = group.size();
        for (Chunks out : outs) {
            if (out.count() != u) {
                throw new InvalidArgumentException("step '" + step + "': an all-to-all over " + group + " receives into "
                        + u + " chunks, not " + out.count());
            }
        }
        List<Transfer> sends = new ArrayList<>(u * xs.size());
        List<Transfer> recvs = new ArrayList<>(u * xs.size());
        for (int tensor = 0; tensor < xs.size(); tensor++) {
            TensorView x = xs.get(tensor);
            Chunks packed = staging.get(tensor);
            int hu = x.heads() / u;
            for (int member = 0; member < u; member++) {
                kernels.copy(x.headSlice(member * hu, hu), packed.chunk(member), stream);
                sends.add(new Transfer(group.member(member), packed.chunkBuffer(member), packed.rowElements()));
                recvs.add(new Transfer(group.member(member), outs.get(tensor).chunkBuffer(member),
                        outs.get(tensor).rowElements()));
            }
        }
        comm.exchange(sends, recvs, stream, step);
    }

    /** The reverse: chunk j of {@code o} goes back to member j, which writes it into heads {@code H_a} of {@code out}. */
    void gatherHeads(Chunks o, TensorView out, Stream stream, String step) {
        int u = group.size();
        int hu = out.heads() / u;
        Chunks landed = staging.get(0);
        List<Transfer> sends = new ArrayList<>(u);
        List<Transfer> recvs = new ArrayList<>(u);
        for (int member = 0; member < u; member++) {
            sends.add(new Transfer(group.member(member), o.chunkBuffer(member), o.rowElements()));
            recvs.add(new Transfer(group.member(member), landed.chunkBuffer(member), landed.rowElements()));
        }
        comm.exchange(sends, recvs, stream, step);
        for (int member = 0; member < u; member++) {
            kernels.copy(landed.chunk(member), out.headSlice(member * hu, hu), stream);
        }
    }
}
