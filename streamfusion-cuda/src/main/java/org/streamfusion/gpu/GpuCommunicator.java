package org.streamfusion.gpu;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.streamfusion.ProcessGroup;
import org.streamfusion.WrongBackendException;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.Stream;
import org.streamfusion.cuda.sf.SfKernels.CopySegment;
import org.streamfusion.spi.Communicator;
import org.streamfusion.spi.Team;
import org.streamfusion.spi.TransferChecks;

/**
 * The primitives over the rank's transport ({@link RankTransport}: NCCL and NVSHMEM, or an in-process world's
 * device copies), with the copy kernel for one-sided transfers to mapped peers. With an emulated link,
 * every transfer to or from another logical machine is bracketed by the link's reservation and wait on the
 * issuing stream ({@link EmulatedLinkClocks}); same-machine transfers are untouched.
 */
final class GpuCommunicator implements Communicator {
    private final RankTransport join;
    /** Whether the fallback for a PE without a mapping was logged. */
    private boolean loggedUnmapped;
    private final GpuOptions options;
    private final SideStreams sideStreams;
    private final LinkCounters counters;
    private final Optional<EmulatedLinkClocks> links;

    GpuCommunicator(RankTransport join, GpuOptions options, SideStreams sideStreams, LinkCounters counters,
            Optional<EmulatedLinkClocks> links) {
        this.join = join;
        this.options = options;
        this.sideStreams = sideStreams;
        this.counters = counters;
        this.links = links;
    }

    @Override
    public int rank() {
        return join.rank();
    }

    @Override
    public int worldSize() {
        return join.worldSize();
    }

    @Override
    public Team team(ProcessGroup group) {
        join.team(group);
        return () -> group;
    }

    /** Destroys the teams this rank made (collective, like their creation). */
    void closeTeams(Teardown teardown) {
        join.closeTeams(teardown);
    }

    @Override
    public void scatterPush(List<Buffer> srcs, Buffer dst, int[] pes, Stream stream, String step) {
        oneSided(true, srcs, dst, pes, stream, step);
    }

    @Override
    public void gatherPull(List<Buffer> dsts, Buffer src, int[] pes, Stream stream, String step) {
        oneSided(false, dsts, src, pes, stream, step);
    }

    /**
     * ScatterPush ({@code push}: {@code locals[i]} into {@code sym} on {@code pes[i]}) or GatherPull
     * ({@code sym} on {@code pes[i]} into {@code locals[i]}): one copy kernel for the PEs that the
     * primitive's mover reaches through a mapping, the transport's put or get (NVSHMEM's) for the rest.
     */
    private void oneSided(boolean push, List<Buffer> locals, Buffer sym, int[] pes, Stream stream, String step) {
        TransferChecks.onePerPe(locals.size(), pes, join.worldSize(), join.rank(), step);
        TransferChecks.symmetric(sym, step);
        GpuBuffer sb = cudaBuffer(sym, push ? "dst" : "src", step);
        GpuStream s = cudaStream(stream, step);
        join.requireOneSided(step);
        List<MemorySegment> localSegments = new ArrayList<>(locals.size());
        for (int i = 0; i < locals.size(); i++) {
            GpuBuffer l = cudaBuffer(locals.get(i), (push ? "srcs[" : "dsts[") + i + "]", step);
            TransferChecks.sameSize(push ? l : sb, push ? sb : l, step);
            localSegments.add(l.segment());
        }
        GpuOptions.OneSidedMover mover = push ? options.push() : options.pull();
        SymmetricBlock block = sb.symmetricBlock();
        long offset = sb.symmetricOffset();
        List<CopySegment> direct = new ArrayList<>();
        List<Integer> viaShmem = new ArrayList<>();
        // A put leaves through this GPU's NIC; a get arrives through it. The sender waits for its put, and
        // the put is observed after the sender's next barrier, which is behind the wait on this stream.
        Optional<EmulatedLinkClocks.Reservation> crossing = reserve(push ? EmulatedLinkModel.Direction.OUTGOING
                : EmulatedLinkModel.Direction.INCOMING, pes, localSegments, s);
        for (int i = 0; i < pes.length; i++) {
            MemorySegment local = localSegments.get(i);
            Optional<MemorySegment> peer = mapped(mover, block, offset, local.byteSize(), pes[i]);
            if (peer.isPresent()) {
                direct.add(push ? new CopySegment(peer.get(), local) : new CopySegment(local, peer.get()));
            } else {
                viaShmem.add(i);
                if (mover == GpuOptions.OneSidedMover.SM_KERNEL && !loggedUnmapped) {
                    loggedUnmapped = true; // once per rank: the fallback holds for the peer as long as the job runs
                    System.getLogger(GpuCommunicator.class.getName()).log(System.Logger.Level.INFO, "rank " + join.rank()
                            + ", step '" + step + "': PE " + pes[i] + " has no NVLink mapping (nvshmem_ptr is NULL); its"
                            + " one-sided transfers use NVSHMEM's put and get instead of the SM copy kernel");
                }
            }
            counters.count(pes[i], local.byteSize());
            counters.countMover(peer.isPresent() ? GpuOptions.OneSidedMover.SM_KERNEL
                    : GpuOptions.OneSidedMover.COPY_ENGINE, local.byteSize());
        }
        sideStreams.fanOut(s.cuda(), viaShmem.size(), (j, on) -> {
            int i = viaShmem.get(j);
            MemorySegment local = localSegments.get(i);
            if (push) {
                block.put(offset, local, pes[i], on);
            } else {
                block.get(local, offset, pes[i], on);
            }
        }, direct);
        links.ifPresent(l -> l.await(crossing, s.cuda()));
        join.oneSidedIssued(s.cuda());
        s.enqueued(step);
    }

    /** Reserves the emulated link for the transfers of {@code segments} to (or from) crossing {@code peers}. */
    private Optional<EmulatedLinkClocks.Reservation> reserve(EmulatedLinkModel.Direction direction, int[] peers,
            List<MemorySegment> segments, GpuStream s) {
        if (links.isEmpty()) {
            return Optional.empty();
        }
        long bytes = 0;
        int messages = 0;
        for (int i = 0; i < peers.length; i++) {
            if (links.get().model().crosses(peers[i])) {
                bytes += segments.get(i).byteSize();
                messages++;
            }
        }
        return links.get().reserve(direction, bytes, messages, s.cuda());
    }

    /**
     * The peer's bytes as an address this GPU can store to and load from, when {@code mover} is the SM
     * kernel and NVSHMEM maps that PE here (NVLink, or this PE); otherwise empty, and the copy goes
     * through the transport's own put or get.
     */
    private static Optional<MemorySegment> mapped(GpuOptions.OneSidedMover mover, SymmetricBlock block, long offset,
            long length, int pe) {
        return mover == GpuOptions.OneSidedMover.SM_KERNEL ? block.peer(offset, length, pe) : Optional.empty();
    }

    @Override
    public void barrier(Team team, Stream stream, String step) {
        GpuStream s = cudaStream(stream, step);
        join.barrier(team.group(), s.cuda(), step);
        s.enqueued(step);
    }

    @Override
    public void barrierAll(Stream stream, String step) {
        GpuStream s = cudaStream(stream, step);
        join.barrierAll(s.cuda(), step);
        s.enqueued(step);
    }

    @Override
    public void exchange(List<Transfer> sends, List<Transfer> recvs, Stream stream, String step) {
        GpuStream s = cudaStream(stream, step);
        // Everything that can be refused is checked before the group opens: a group ended half
        // issued would leave the peers waiting for the rest.
        List<MemorySegment> out = new ArrayList<>(sends.size());
        List<MemorySegment> in = new ArrayList<>(recvs.size());
        for (int i = 0; i < sends.size(); i++) {
            Transfer t = sends.get(i);
            TransferChecks.peer(t.peer(), join.worldSize(), join.rank(), step);
            out.add(cudaBuffer(t.buffer(), "buffer of sends[" + i + "]", step).segment());
        }
        for (int i = 0; i < recvs.size(); i++) {
            Transfer t = recvs.get(i);
            TransferChecks.peer(t.peer(), join.worldSize(), join.rank(), step);
            in.add(cudaBuffer(t.buffer(), "buffer of recvs[" + i + "]", step).segment());
        }
        int[] outPeers = sends.stream().mapToInt(Transfer::peer).toArray();
        int[] inPeers = recvs.stream().mapToInt(Transfer::peer).toArray();
        // Both sides wait: the sender's stream for its NIC's outgoing clock, the receiver's for its incoming one.
        Optional<EmulatedLinkClocks.Reservation> sent = links.isEmpty() ? Optional.empty()
                : reserve(EmulatedLinkModel.Direction.OUTGOING, outPeers, out, s);
        Optional<EmulatedLinkClocks.Reservation> received = links.isEmpty() ? Optional.empty()
                : reserve(EmulatedLinkModel.Direction.INCOMING, inPeers, in, s);
        join.exchange(out, outPeers, in, inPeers, s.name(), s.cuda(), step);
        for (int i = 0; i < out.size(); i++) {
            counters.count(outPeers[i], out.get(i).byteSize());
        }
        links.ifPresent(l -> {
            l.await(sent, s.cuda());
            l.await(received, s.cuda());
        });
        s.enqueued(step);
    }

    private static GpuBuffer cudaBuffer(Buffer buffer, String argument, String step) {
        return WrongBackendException.require(GpuBuffer.class, buffer, argument + " of step '" + step + "'");
    }

    private static GpuStream cudaStream(Stream stream, String step) {
        return WrongBackendException.require(GpuStream.class, stream, "stream of step '" + step + "'");
    }
}
