package org.streamfusion.gpu;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import org.streamfusion.CommunicationTimeoutException;
import org.streamfusion.WrongBackendException;
import org.streamfusion.backend.Event;
import org.streamfusion.cuda.CudaEvent;
import org.streamfusion.cuda.CudaGraph;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.cuda.DeviceMemory;
import org.streamfusion.cuda.sf.SfKernels;
import org.streamfusion.spi.BackendStream;

/**
 * The CUDA backend's {@link org.streamfusion.backend.Stream}: a native {@link org.streamfusion.cuda.CudaStream} as a
 * schedule sees it; the host wait is bounded and names the last step enqueued.
 */
final class GpuStream implements BackendStream {
    private final String name;
    private final CudaStream stream;
    private final CudaEvent drained;
    private final int rank;
    private final Duration timeout;
    private final Runnable asyncErrorCheck;
    private final Runnable onFailure;
    private volatile String lastStep = "(nothing enqueued)";
    /** The split-KV workspace of this stream's attention launches; made at the first launch outside a capture. */
    private DeviceMemory attentionWorkspace;

    GpuStream(String name, CudaStream stream, int rank, Duration timeout, Runnable asyncErrorCheck,
            Runnable onFailure) {
        this.name = name;
        this.stream = stream;
        this.drained = CudaEvent.create(false);
        this.rank = rank;
        this.timeout = timeout;
        this.asyncErrorCheck = asyncErrorCheck;
        this.onFailure = onFailure;
    }

    CudaStream cuda() {
        return stream;
    }

    /**
     * How this stream's attention launches run: on the device's SMs, with this stream's own workspace so that
     * they may split the tiles of a partly empty last wave (docs/kernels.md, "Waves"). A launch captured before
     * the stream ever ran one outside a capture runs unsplit: cudaMalloc cannot be captured.
     */
    SfKernels.Schedule attentionSchedule() {
        if (attentionWorkspace == null) {
            if (CudaGraph.isCapturing(stream)) {
                return SfKernels.Schedule.UNSPLIT;
            }
            attentionWorkspace = DeviceMemory.allocate(SfKernels.workspaceBytes(128, 0)); // D = 64 needs less
            DeviceMemory.fill(attentionWorkspace.slice(0, SfKernels.splitCounterBytes(
                    CudaRuntime.multiprocessorCount(CudaRuntime.currentDevice()))), (byte) 0, stream);
        }
        return new SfKernels.Schedule(0, attentionWorkspace.segment());
    }

    void enqueued(String step) {
        lastStep = step;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void record(Event event, String step) {
        GpuEvent e = WrongBackendException.require(GpuEvent.class, event, "event of step '" + step + "'");
        e.cuda().record(stream);
        lastStep = step;
    }

    @Override
    public void waitFor(Event event) {
        stream.waitFor(WrongBackendException.require(GpuEvent.class, event, "event").cuda());
    }

    @Override
    public void synchronize(String step) {
        try {
            drain(step);
        } catch (RuntimeException e) {
            onFailure.run(); // the device must not take part in collective frees after this
            throw e;
        }
    }

    private void drain(String step) {
        drained.record(stream);
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        // Spin for the first 200 us (ranks that leave a wait late skew the next collective), then poll
        // every 50 us, checking NCCL's asynchronous errors and the deadline.
        while (!drained.isComplete()) {
            long now = System.nanoTime();
            if (now - start < 200_000) {
                Thread.onSpinWait();
                continue;
            }
            asyncErrorCheck.run();
            if (now - deadline > 0) {
                throw new CommunicationTimeoutException(rank, step, timeout, "stream " + name
                        + " did not drain; the last step enqueued on it was '" + lastStep + "'");
            }
            LockSupport.parkNanos(50_000);
        }
    }

    void close() {
        drained.close();
        stream.close();
        if (attentionWorkspace != null) {
            attentionWorkspace.close(); // cudaFree waits for the device, so no launch still reads it
        }
    }
}
