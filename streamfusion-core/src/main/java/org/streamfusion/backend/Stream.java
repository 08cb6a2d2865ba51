package org.streamfusion.backend;

/** An in-order queue of device work (a CUDA stream; a worker thread on the CPU backend). */
public sealed interface Stream permits org.streamfusion.cpu.CpuStream, org.streamfusion.gpu.CudaStreamHandle,
        org.streamfusion.sim.SimStream {
    String name();

    /** Marks the current end of this stream; {@code step} names the schedule step for error messages. */
    void record(Event event, String step);

    /** Work enqueued after this call starts only once the event's latest record has completed. */
    void waitFor(Event event);

    /** Blocks the host until all enqueued work is done, or throws a timeout naming the rank and step. */
    void synchronize(String step);
}
