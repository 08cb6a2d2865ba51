package org.streamfusion;

import java.time.Duration;

/** A wait that did not complete in time. Names the waiting rank, the schedule step and the peers missing. */
public final class CommunicationTimeoutException extends StreamFusionException {
    private final int rank;
    private final String step;

    public CommunicationTimeoutException(int rank, String step, Duration timeout, String detail) {
        super("rank " + rank + " timed out after " + timeout.toMillis() + " ms at step '" + step + "': " + detail);
        this.rank = rank;
        this.step = step;
    }

    public int rank() {
        return rank;
    }

    public String step() {
        return step;
    }
}
