package org.streamfusion.gpu;

import java.util.Optional;
import java.util.function.Supplier;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.InvalidStateException;
import org.streamfusion.Topology;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.cuda.nccl.NcclCommunicator;
import org.streamfusion.cuda.nvshmem.NvshmemRuntime;
import org.streamfusion.launch.DistributedEnvironment;
import org.streamfusion.launch.KeyValueStore;
import org.streamfusion.spi.Communicator;

/**
 * A rank's membership in the job: the rendezvous through rank 0's store, then NCCL (and the ring lane's
 * communicator) and NVSHMEM, brought up in that order and torn down in the reverse one. After a failed
 * host wait ({@link #markFailed}) leaving is no longer collective: NCCL is aborted and the peers are told
 * through the store.
 */
final class CudaJoin {
    private final DistributedEnvironment env;
    private final int device;
    private final KeyValueStore store;
    private final NcclCommunicator nccl;
    /**
     * Two-sided transfers on the {@link Communicator#RING_LANE} stream, since NCCL runs one communicator's
     * work in issue order; {@code nccl} itself when {@link GpuOptions#ringLane()} is off.
     */
    private final NcclCommunicator ringLane;
    private final NvshmemRuntime nvshmem;
    /** Set when a host wait failed: collective frees are then skipped, since peers may never join them. */
    private volatile boolean failed;

    private CudaJoin(DistributedEnvironment env, int device, KeyValueStore store, NcclCommunicator nccl,
            NcclCommunicator ringLane, NvshmemRuntime nvshmem) {
        this.env = env;
        this.device = device;
        this.store = store;
        this.nccl = nccl;
        this.ringLane = ringLane;
        this.nvshmem = nvshmem;
    }

    /**
     * Turns NVLink multicast off for the process unless chosen ({@link NvlsDefaults}), selects GPU
     * {@code LOCAL_RANK}, refuses a host the compatibility table rules out ({@link Compatibility}), exchanges the
     * NCCL and NVSHMEM unique ids through rank 0's store, and initialises both. Collective over all ranks; on
     * failure it tells the peers through the store and releases what it had brought up.
     */
    static CudaJoin join(DistributedEnvironment env, Topology topology, GpuOptions options) {
        if (topology.worldSize() != env.worldSize()) {
            throw new InvalidConfigurationException("topology " + topology + " has " + topology.worldSize()
                    + " GPUs but the job has WORLD_SIZE=" + env.worldSize(), "M*G == world size");
        }
        // Before anything of NCCL or NVSHMEM reads its environment.
        NvlsDefaults.apply(NvlsDefaults.processEnvironment());
        CudaRuntime.requireAvailable();
        int count = CudaRuntime.deviceCount();
        if (env.localRank() >= count) {
            throw new InvalidConfigurationException("LOCAL_RANK=" + env.localRank() + " but this host has " + count
                    + " GPUs", "LOCAL_RANK < visible GPUs");
        }
        int device = env.localRank();
        CudaRuntime.setDevice(device);
        CudaRuntime.initContext();
        KeyValueStore store = KeyValueStore.connect(env, options.timeout());
        NcclCommunicator nccl = null;
        NcclCommunicator ringLane = null;
        NvshmemRuntime shmem = null;
        try {
            Compatibility.table().check(Compatibility.Found.probe(device, options.nvshmem()), env.rank(), device);
            byte[] ncclId = exchange(store, env, "sf/nccl-unique-id", NcclCommunicator::uniqueId);
            nccl = NcclCommunicator.initRank(env.worldSize(), ncclId, env.rank());
            int rank = env.rank();
            // A second communicator whose kernels may run beside the first's: NCCL's guide warns that
            // concurrent communicators can deadlock when their kernels do not fit on the GPU together
            // (GpuOptions.ringLane = false avoids it).
            ringLane = !options.ringLane() ? nccl : nccl.split(0, rank).orElseThrow(() -> new InvalidStateException(
                    "rank " + rank + ": ncclCommSplit with color 0 gave no communicator for the ring lane"));
            if (options.nvshmem()) {
                byte[] shmemId = exchange(store, env, "sf/nvshmem-unique-id", () -> NvshmemRuntime.uniqueId(device));
                shmem = NvshmemRuntime.init(device, env.rank(), env.worldSize(), shmemId);
            }
            store.barrier("sf/joined", env.worldSize());
            return new CudaJoin(env, device, store, nccl, ringLane, shmem);
        } catch (RuntimeException | Error e) {
            try {
                store.abort("failed to join: " + e);
            } catch (RuntimeException ignored) {
                // the store may be what failed
            }
            if (shmem != null) {
                shmem.close();
            }
            if (ringLane != null && ringLane != nccl) {
                ringLane.abort();
            }
            if (nccl != null) {
                nccl.abort();
            }
            store.close();
            throw e;
        }
    }

    /** Rank 0 makes the id and publishes it under {@code key}; the others read it. */
    private static byte[] exchange(KeyValueStore store, DistributedEnvironment env, String key, Supplier<byte[]> make) {
        if (env.rank() == 0) {
            byte[] id = make.get();
            store.set(key, id);
            return id;
        }
        return store.get(key);
    }

    int rank() {
        return env.rank();
    }

    int worldSize() {
        return env.worldSize();
    }

    int device() {
        return device;
    }

    KeyValueStore store() {
        return store;
    }

    /** The NCCL communicator for two-sided transfers on the stream named {@code streamName}. */
    NcclCommunicator lane(String streamName) {
        return Communicator.RING_LANE.equals(streamName) ? ringLane : nccl;
    }

    /** Throws if a background operation of either NCCL communicator failed. */
    void checkAsyncErrors() {
        nccl.checkAsyncError();
        if (ringLane != nccl) {
            ringLane.checkAsyncError();
        }
    }

    /** NVSHMEM, or empty when this rank joined without it. */
    Optional<NvshmemRuntime> nvshmem() {
        return Optional.ofNullable(nvshmem);
    }

    /** NVSHMEM for a step that needs the one-sided primitives. */
    NvshmemRuntime shmem(String step) {
        if (nvshmem == null) {
            throw new InvalidStateException("step '" + step + "' needs the one-sided primitives, but this rank joined"
                    + " without NVSHMEM (GpuOptions.nvshmem = false)");
        }
        return nvshmem;
    }

    void markFailed() {
        failed = true;
    }

    boolean failed() {
        return failed;
    }

    /**
     * The last steps of a close, after the arenas, teams and side streams: the leave barrier, then NVSHMEM
     * and NCCL; or, when this rank failed or an earlier step did, an abort told to the peers instead.
     */
    void leave(Teardown teardown) {
        if (!failed) {
            teardown.attempt(() -> store.barrier("sf/leave", env.worldSize()));
        }
        if (failed || teardown.hasErrors()) {
            teardown.attempt(() -> store.abort("rank " + env.rank() + " failed; closing without its peers"));
            if (ringLane != nccl) {
                teardown.attempt(ringLane::abort);
            }
            teardown.attempt(nccl::abort);
        } else {
            if (nvshmem != null) {
                teardown.attempt(nvshmem::close);
            }
            if (ringLane != nccl) {
                teardown.attempt(ringLane::close);
            }
            teardown.attempt(nccl::close);
        }
        store.close();
    }
}
