package org.streamfusion.sim;

import org.streamfusion.backend.Event;

/** An event of the simulating backend: its latest record. Public only for {@link Event}'s permits. */
public final class SimEvent implements Event {
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
        return org.streamfusion.WrongBackendException.require(SimEvent.class, e, "event");
    }
}
