package org.streamfusion.cpu;

import java.util.concurrent.CountDownLatch;
import org.streamfusion.WrongBackendException;
import org.streamfusion.backend.Event;
import org.streamfusion.spi.BackendEvent;

/** The latest record of an event: a latch that its stream opens when it gets there. */
final class CpuEvent implements BackendEvent {
    record Mark(CountDownLatch reached, String step, String stream) {
    }

    private volatile Mark latest;

    CpuEvent() {
    }

    Mark latest() {
        return latest;
    }

    void set(Mark m) {
        latest = m;
    }

    static CpuEvent of(Event e) {
        return WrongBackendException.require(CpuEvent.class, e, "event");
    }
}
