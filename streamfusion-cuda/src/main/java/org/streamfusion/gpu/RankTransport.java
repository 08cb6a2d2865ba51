package org.streamfusion.gpu;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.streamfusion.ProcessGroup;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.launch.KeyValueStore;
import org.streamfusion.spi.StreamCapture;

/**
 * How one rank's bytes move and its collectives meet, behind {@link GpuCommunicator} and the rest of the CUDA
 * backend: NCCL and NVSHMEM between the processes of a job ({@link JobTransport}), or device copies between the
 * ranks of one process on one GPU ({@link LocalTransport}). Everything above it (schedules, kernels, the FP8
 * wire, caller memory, emulated links) is the same code for both.
 */
interface RankTransport {
    int rank();

    int worldSize();

    /** {@return the CUDA device this rank runs on} */
    int device();

    /** {@return the job's rendezvous store; empty for an in-process world, which has none} */
    Optional<KeyValueStore> store();

    /** {@return a line for every output: what carries the bytes, and how the GPU is shared} */
    String describe();

    /** Throws if a background operation of the transport failed. */
    void checkAsyncErrors();

    /** Records that a host wait of this rank failed: collective frees are skipped from then on. */
    void markFailed();

    boolean failed();

    /** {@return whether the one-sided primitives and symmetric memory are available} */
    boolean hasOneSided();

    /** Throws, naming {@code step}, if the one-sided primitives are not available. */
    void requireOneSided(String step);

    /**
     * {@return how this rank captures layers as CUDA graphs: its own graph per rank on a job, one graph for the whole
     * world on an in-process world}
     */
    StreamCapture graphCapture();

    /**
     * One group of two-sided transfers (NCCL group semantics): {@code out.get(i)} to {@code outPeers[i]},
     * {@code in.get(i)} from {@code inPeers[i]}, matched in order per peer pair on the lane of {@code streamName},
     * ordered on {@code stream}. A send completes when the receiver has its bytes.
     */
    void exchange(List<MemorySegment> out, int[] outPeers, List<MemorySegment> in, int[] inPeers, String streamName,
            CudaStream stream, String step);

    /**
     * Allocates this rank's part of a symmetric block: collective, every rank in the same order. {@code initialise}
     * (none when null) fills this rank's part before any peer can reach it, so a peer's first put cannot land
     * before the fill and be overwritten by it.
     */
    SymmetricBlock allocateSymmetric(long bytes, String step, Consumer<MemorySegment> initialise);

    /** {@return the key of {@code group}'s team: teams are per member set, the group's axis name does not matter} */
    static String teamKey(ProcessGroup group) {
        return group.start() + "/" + group.stride() + "/" + group.size();
    }

    /** Creates the team of {@code group}: collective, every rank for every group in the same order. */
    void team(ProcessGroup group);

    /**
     * Notes that one-sided transfers were enqueued on {@code stream}: a barrier completes every earlier put of
     * this rank, whatever stream issued it (NVSHMEM's barrier quiets the whole PE).
     */
    void oneSidedIssued(CudaStream stream);

    /** Every member of {@code group} reached this point on its stream and this rank's puts are complete. */
    void barrier(ProcessGroup group, CudaStream stream, String step);

    /** The same over all ranks. */
    void barrierAll(CudaStream stream, String step);

    /**
     * Capture agreement: publishes this rank's refusal of capture number {@code capture} ("" for none) and
     * returns the first rank's refusal, or {@code null} when no rank refused.
     */
    String agree(long capture, String mine);

    /** Destroys the teams this rank made (collective, like their creation). */
    void closeTeams(Teardown teardown);

    /** The last steps of a close, after the arenas, teams and side streams. */
    void leave(Teardown teardown);
}
