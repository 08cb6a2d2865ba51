package org.streamfusion.sim;

import org.streamfusion.WrongBackendException;
import org.streamfusion.backend.Event;
import org.streamfusion.spi.BackendEvent;

/** An event of the simulating backend: its latest record. Public only for {@link Event}'s permits. */
final class SimEvent implements BackendEvent {
    private Op latest;

    SimEvent() {
    }

    Op latest() {
        return latest;
    }

    void set(Op record) {
        latest = record;
    }

    static SimEvent of(Event e) {
        return WrongBackendException.require(SimEvent.class, e, "event");
    }
}
