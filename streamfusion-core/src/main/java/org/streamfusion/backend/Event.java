package org.streamfusion.backend;

/** A point in a stream, for ordering between streams. Waiting on a never-recorded event is a no-op, as in CUDA. */
public sealed interface Event permits org.streamfusion.cpu.CpuEvent, org.streamfusion.gpu.CudaEventHandle,
        org.streamfusion.sim.SimEvent {
}
