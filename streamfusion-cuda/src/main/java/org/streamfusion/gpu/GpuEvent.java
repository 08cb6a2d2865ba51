package org.streamfusion.gpu;

import org.streamfusion.cuda.CudaEvent;
import org.streamfusion.spi.BackendEvent;

/**
 * The CUDA backend's {@link org.streamfusion.backend.Event}: a native {@link org.streamfusion.cuda.CudaEvent} without
 * timing (cheaper to record and wait on).
 */
final class GpuEvent implements BackendEvent {
    private final CudaEvent event = CudaEvent.create(false);

    GpuEvent() {
    }

    CudaEvent cuda() {
        return event;
    }

    void close() {
        event.close();
    }
}
