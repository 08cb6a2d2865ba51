package org.streamfusion.spi;

import java.util.Optional;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.RankDevice;

/**
 * Everything a schedule needs on one rank: the caller's view ({@link RankDevice}) plus the communicator
 * and the kernels. The CPU backend implements it with threads; the CUDA backend with the CUDA runtime,
 * NCCL and NVSHMEM. Schedules see nothing else. Not exported: a user cannot implement or call it.
 */
public non-sealed interface RankBackend extends RankDevice {
    Communicator communicator();

    Kernels kernels();

    /** The buffers this backend's memory is: a tensor of another backend is refused before any step. */
    Class<? extends Buffer> bufferType();

    /**
     * {@return recording a layer's enqueue once to replay it (CUDA Graphs); empty where the backend has none}
     */
    default Optional<StreamCapture> streamCapture() {
        return Optional.empty();
    }

    /**
     * {@return whether this backend's layers appear as {@code org.streamfusion.Layer} events: false for the
     * simulator, whose layers ran on no hardware (the planner simulates many per plan it picks)}
     */
    default boolean recordsLayers() {
        return true;
    }
}
