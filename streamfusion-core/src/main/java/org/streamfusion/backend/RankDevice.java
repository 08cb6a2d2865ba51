package org.streamfusion.backend;

import org.streamfusion.DType;
import org.streamfusion.Topology;
import org.streamfusion.spi.RankBackend;

/**
 * One rank of a job as its caller holds it: which rank it is, the logical topology, and arenas for the
 * caller's own buffers, streams and events. Built by a backend ({@code CpuWorld.device(rank)},
 * {@code CudaRankDevice.join(..)}) and handed to {@link org.streamfusion.DistributedAttention#create}.
 * Sealed: what a schedule needs beyond this (the communicator, the kernels) is the library's inside.
 */
public sealed interface RankDevice permits RankBackend {
    /** {@return this rank's index in the job, {@code 0 <= rank < topology().worldSize()}} */
    int rank();

    /** {@return the machines and GPUs per machine of the job} */
    Topology topology();

    /**
     * A new arena on this rank; close it to free what it holds.
     *
     * @return the new arena
     */
    DeviceArena newArena();

    /**
     * The element type this device stores for a requested type (the CPU backend keeps fp32).
     *
     * @param requested the type a caller asks for
     * @return the type buffers of this device hold for it
     */
    DType storageType(DType requested);
}
