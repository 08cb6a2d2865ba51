package org.streamfusion.backend;

import org.streamfusion.DType;
import org.streamfusion.Topology;

/**
 * Everything a schedule needs on one rank: memory, streams and events (through arenas), the kernels,
 * and the communicator. The CPU backend implements it with threads; the CUDA backend with the CUDA
 * runtime, NCCL and NVSHMEM. Schedules see nothing else.
 */
public interface RankDevice {
    int rank();

    Topology topology();

    Communicator communicator();

    Kernels kernels();

    DeviceArena newArena();

    /** The element type this device stores for a requested type (the CPU backend keeps fp32). */
    DType storageType(DType requested);
}
