package org.streamfusion;

import java.time.Duration;

/** A wait that did not complete in time. Names the waiting rank, the schedule step and the peers missing. */
public final class CommunicationTimeoutException extends StreamFusionException {
    /** The rank that waited. */
    private final int rank;
    /** Where it waited. */
    private final String step;

    /**
     * A timed-out wait.
     *
     * @param rank    the rank that waited
     * @param step    the schedule step (or other operation) it waited at, as the message quotes it
     * @param timeout how long it waited; the message gives it in milliseconds
     * @param detail  what did not arrive, e.g. the peers missing
     */
    public CommunicationTimeoutException(int rank, String step, Duration timeout, String detail) {
        super("rank " + rank + " timed out after " + timeout.toMillis() + " ms at step '" + step + "': " + detail);
        this.rank = rank;
        this.step = step;
    }

    /** {@return the rank that waited} */
    public int rank() {
        return rank;
    }

    /** {@return the schedule step (or other operation) it waited at} */
    public String step() {
        return step;
    }
}
