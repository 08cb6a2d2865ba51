package org.streamfusion.sim;

import org.streamfusion.WrongBackendException;
import org.streamfusion.backend.Event;
import org.streamfusion.spi.BackendEvent;

/** An event of the simulating backend: its latest record, as a stream and an op index. Public only for {@link Event}'s permits. */
final class SimEvent implements BackendEvent {
    private SimStream stream;
    private int index;

    SimEvent() {
    }

    /** {@return the stream of the latest record, or {@code null} if never recorded} */
    SimStream stream() {
        return stream;
    }

    /** {@return the latest record's index in its stream} */
    int index() {
        return index;
    }

    void set(SimStream s, int recordIndex) {
        stream = s;
        index = recordIndex;
    }

    static SimEvent of(Event e) {
        return WrongBackendException.require(SimEvent.class, e, "event");
    }
}
