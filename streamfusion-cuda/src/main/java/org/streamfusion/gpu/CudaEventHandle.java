package org.streamfusion.gpu;

import org.streamfusion.cuda.CudaEvent;
import org.streamfusion.spi.BackendEvent;

/** A CUDA event without timing (cheaper to record and wait on). */
public final class CudaEventHandle implements BackendEvent {
    private final CudaEvent event = CudaEvent.create(false);

    CudaEventHandle() {
    }

    CudaEvent cuda() {
        return event;
    }

    void close() {
        event.close();
    }
}
