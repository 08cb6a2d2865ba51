package org.streamfusion.gpu;

import org.streamfusion.backend.Event;
import org.streamfusion.cuda.CudaEvent;

/** A CUDA event without timing (cheaper to record and wait on). */
public final class CudaEventHandle implements Event {
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
