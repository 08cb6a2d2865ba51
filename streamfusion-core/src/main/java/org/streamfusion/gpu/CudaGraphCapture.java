package org.streamfusion.gpu;

import org.streamfusion.WrongBackendException;
import org.streamfusion.backend.Stream;
import org.streamfusion.cuda.CudaGraph;
import org.streamfusion.spi.StreamCapture;

/**
 * CUDA Graphs as the GPU backend's {@link StreamCapture}. The capture holds only this thread to
 * capture-safe calls ({@link CudaGraph.CaptureMode#THREAD_LOCAL}): a service's other threads may allocate
 * while a layer is captured. A layer's own forward is capture-safe in the strictest mode as well
 * (docs/graphs.md).
 */
final class CudaGraphCapture implements StreamCapture {
    private final int device;

    CudaGraphCapture(int device) {
        this.device = device;
    }

    @Override
    public Replay capture(Stream origin, Runnable body) {
        CudaStreamHandle s = WrongBackendException.require(CudaStreamHandle.class, origin, "capture's origin stream");
        org.streamfusion.cuda.CudaRuntime.setDevice(device);
        CudaGraph graph;
        try {
            graph = CudaGraph.capture(s.cuda(), CudaGraph.CaptureMode.THREAD_LOCAL, stream -> body.run());
        } catch (org.streamfusion.cuda.NativeCallException e) {
            throw new Refused(e.getMessage(), e);
        }
        return new Replay() {
            @Override
            public void launch(Stream stream) {
                CudaStreamHandle on = WrongBackendException.require(CudaStreamHandle.class, stream, "replay stream");
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
