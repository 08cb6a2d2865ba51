package org.streamfusion.sim;

import org.streamfusion.StreamFusionException;

/**
 * A simulated layer that cannot finish: an op waits for a peer, a barrier member or an event that
 * never comes. On the real backends this would hang until a timeout; the simulator knows at once and
 * names the rank, the stream and the step.
 */
public final class ScheduleDeadlockException extends StreamFusionException {
    /** The rank whose stream is stuck. */
    private final int rank;
    /** The step that stream never completes. */
    private final String step;

    ScheduleDeadlockException(int rank, String stream, String step, int stuckStreams) {
        super("rank " + rank + " stream " + stream + " never completes step '" + step + "' (" + stuckStreams
                + " streams stuck in all; rule: every wait, barrier and send/recv has its counterpart)");
        this.rank = rank;
        this.step = step;
    }

    /** {@return the rank whose stream is stuck} */
    public int rank() {
        return rank;
    }

    /** {@return the step that the stuck stream never completes} */
    public String step() {
        return step;
    }
}
