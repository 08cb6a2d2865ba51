package org.streamfusion.gpu;

import org.streamfusion.WrongBackendException;
import org.streamfusion.backend.Stream;
import org.streamfusion.cuda.CudaException;
import org.streamfusion.cuda.CudaGraph;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.spi.StreamCapture;

/**
 * CUDA Graphs as the GPU backend's {@link StreamCapture}. The capture holds only this thread to capture-safe
 * calls ({@link CudaGraph.CaptureMode#THREAD_LOCAL}): a service's other threads may allocate while a layer is
 * captured, but no other layer of this rank may run meanwhile (the one-sided side streams are the rank's).
 *
 * <p>Only CUDA's capture errors make a capture {@link Refused}; any other failure propagates. The ranks agree
 * through their transport (the job's store): if any rank's capture is refused, every rank's is, so that no rank replays a graph
 * while its peers enqueue the same collectives eagerly.
 */
final class CudaGraphCapture implements StreamCapture {
    private final RankTransport join;
    /** Captures so far: every rank captures its layers in the same order, so the count names the capture. */
    private long captures;

    CudaGraphCapture(RankTransport join) {
        this.join = join;
    }

    @Override
    public synchronized Replay capture(Stream origin, Runnable body) {
        GpuStream s = WrongBackendException.require(GpuStream.class, origin, "capture's origin stream");
        CudaRuntime.setDevice(join.device());
        CudaGraph graph = null;
        CudaException refusal = null;
        try {
            graph = CudaGraph.capture(s.cuda(), CudaGraph.CaptureMode.THREAD_LOCAL, stream -> body.run());
        } catch (CudaException e) {
            if (!isCaptureError(e)) {
                throw e;
            }
            refusal = e;
        }
        String refused = agree(refusal == null ? "" : "rank " + join.rank() + ": " + refusal.getMessage());
        if (refused != null) {
            if (graph != null) {
                graph.close();
            }
            throw new Refused(refused, refusal);
        }
        return replay(graph);
    }

    /** cudaErrorStreamCapture* and cudaErrorCapturedEvent: a call that a capture cannot hold. */
    static boolean isCaptureError(CudaException e) {
        String name = CudaRuntime.errorName(e.code());
        return name.startsWith("cudaErrorStreamCapture") || name.equals("cudaErrorCapturedEvent");
    }

    /** Publishes this rank's refusal ("" for none) and returns the first rank's refusal, or {@code null}. */
    private String agree(String mine) {
        return join.agree(++captures, mine);
    }

    private static Replay replay(CudaGraph graph) {
        return new Replay() {
            @Override
            public void launch(Stream stream) {
                GpuStream on = WrongBackendException.require(GpuStream.class, stream, "replay stream");
                graph.launch(on.cuda());
                on.enqueued("graph replay");
            }

            @Override
            public long operations() {
                return graph.nodes();
            }

            @Override
            public void close() {
                graph.close();
            }
        };
    }
}
