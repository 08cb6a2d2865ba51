package org.streamfusion.cpu;

import java.util.concurrent.CountDownLatch;
import org.streamfusion.backend.Event;

/** The latest record of an event: a latch that its stream opens when it gets there. */
public final class CpuEvent implements Event {
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
        return org.streamfusion.WrongBackendException.require(CpuEvent.class, e, "event");
    }
}
