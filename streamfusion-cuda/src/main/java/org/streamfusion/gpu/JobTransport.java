package org.streamfusion.gpu;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.streamfusion.InvalidStateException;
import org.streamfusion.ProcessGroup;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.cuda.nccl.NcclCommunicator;
import org.streamfusion.cuda.nccl.NcclDataType;
import org.streamfusion.cuda.nvshmem.NvshmemTeam;
import org.streamfusion.launch.KeyValueStore;
import org.streamfusion.spi.StreamCapture;

/** The transport of a multi-process job: NCCL for two-sided transfers, NVSHMEM for one-sided ones and barriers. */
final class JobTransport implements RankTransport {
    private final CudaJoin join;
    private final Map<String, Optional<NvshmemTeam>> teams = new HashMap<>();
    /**
     * Symmetric blocks filled so far: names each fill's store barrier (a store barrier is used once). Allocation
     * is collective and in the same order on every rank, from the rank's one thread.
     */
    private long filledBlocks;

    JobTransport(CudaJoin join) {
        this.join = join;
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
    public int device() {
        return join.device();
    }

    @Override
    public Optional<KeyValueStore> store() {
        return Optional.of(join.store());
    }

    @Override
    public String describe() {
        return "one process per GPU: NCCL" + (join.nvshmem().isPresent() ? " and NVSHMEM" : "");
    }

    @Override
    public void checkAsyncErrors() {
        join.checkAsyncErrors();
    }

    @Override
    public void markFailed() {
        join.markFailed();
    }

    @Override
    public boolean failed() {
        return join.failed();
    }

    @Override
    public boolean hasOneSided() {
        return join.nvshmem().isPresent();
    }

    @Override
    public void requireOneSided(String step) {
        join.shmem(step);
    }

    @Override
    public StreamCapture graphCapture() {
        return new CudaGraphCapture(this);
    }

    @Override
    public void exchange(List<MemorySegment> out, int[] outPeers, List<MemorySegment> in, int[] inPeers,
            String streamName, CudaStream stream, String step) {
        NcclCommunicator lane = join.lane(streamName);
        NcclCommunicator.groupStart();
        try {
            for (int i = 0; i < out.size(); i++) {
                lane.send(out.get(i), out.get(i).byteSize(), NcclDataType.UINT8, outPeers[i], stream);
            }
            for (int i = 0; i < in.size(); i++) {
                lane.recv(in.get(i), in.get(i).byteSize(), NcclDataType.UINT8, inPeers[i], stream);
            }
        } finally {
            NcclCommunicator.groupEnd();
        }
    }

    @Override
    public SymmetricBlock allocateSymmetric(long bytes, String step, Consumer<MemorySegment> initialise) {
        SymmetricBlock block = new NvshmemBlock(join.shmem(step).allocate(bytes));
        try {
            if (initialise != null) {
                initialise.accept(block.segment());
                // nvshmem_malloc's own barrier came before the fill: no peer may put before every part is filled.
                // Only filled blocks meet here (the default path adds no store keys per layer), so every rank of a
                // job must fill alike: GpuOptions.poison the same everywhere.
                if (join.worldSize() > 1) {
                    hostBarrier("sf/symmetric-fill/" + filledBlocks++);
                }
            }
        } catch (RuntimeException | Error e) {
            markFailed(); // peers' waits end now; the block's collective free is left to the failed job's exit
            throw e;
        }
        return block;
    }

    @Override
    public void team(ProcessGroup group) {
        if (group.size() > 1) {
            // Collective over the world: every rank asks for every group, in the same order.
            join.nvshmem().ifPresent(nvshmem -> teams.computeIfAbsent(RankTransport.teamKey(group),
                    k -> nvshmem.world().splitStrided(group.start(), group.stride(), group.size())));
        }
    }

    @Override
    public void barrier(ProcessGroup group, CudaStream stream, String step) {
        if (group.size() == 1) {
            join.shmem(step).quiet(stream); // a team of one: only the puts to complete
            return;
        }
        Optional<NvshmemTeam> t = teams.get(RankTransport.teamKey(group));
        if (t == null || t.isEmpty()) {
            throw new InvalidStateException("step '" + step + "': rank " + join.rank() + " has no team for " + group);
        }
        t.get().barrier(stream);
    }

    @Override
    public void oneSidedIssued(CudaStream stream) {
        // NVSHMEM's barriers quiet every put of the PE
    }

    @Override
    public void barrierAll(CudaStream stream, String step) {
        join.shmem(step).barrierAll(stream);
    }

    private void hostBarrier(String name) {
        join.store().barrier(name, join.worldSize());
    }

    @Override
    public String agree(long capture, String mine) {
        if (join.worldSize() == 1) {
            return mine.isEmpty() ? null : mine;
        }
        KeyValueStore store = join.store();
        store.set("streamfusion/capture/" + capture + "/" + join.rank(), mine.getBytes(StandardCharsets.UTF_8));
        for (int rank = 0; rank < join.worldSize(); rank++) {
            String theirs = new String(store.get("streamfusion/capture/" + capture + "/" + rank), StandardCharsets.UTF_8);
            if (!theirs.isEmpty()) {
                return theirs;
            }
        }
        return null;
    }

    @Override
    public void closeTeams(Teardown teardown) {
        teams.values().forEach(t -> t.ifPresent(team -> teardown.attempt(team::close)));
    }

    @Override
    public void leave(Teardown teardown) {
        join.leave(teardown);
    }
}
