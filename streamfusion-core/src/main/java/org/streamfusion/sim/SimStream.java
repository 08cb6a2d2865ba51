package org.streamfusion.sim;

import java.util.ArrayList;
import java.util.List;
import org.streamfusion.backend.Event;
import org.streamfusion.backend.Stream;

/**
 * A stream of the simulating backend: the ops enqueued on it, in order, and where the engine has got to
 * in them. Nothing runs when an op is enqueued; the {@link Engine} gives every op its virtual start and
 * end once all ranks have enqueued the layer. Public only for {@link Stream}'s permits.
 */
public final class SimStream implements Stream {
    final int rank;
    private final String name;
    final boolean isCompute;
    final List<Op> ops = new ArrayList<>();
    /** Engine state: the next op to run, the virtual time the stream is free, what set that time. */
    int position;
    double free;
    Cause cause = Cause.COMPUTE;
    double attentionSeconds;
    double waitedOnCommunication;
    double waitedOnSynchronisation;

    SimStream(int rank, String name) {
        this.rank = rank;
        this.name = name;
        this.isCompute = name.equals("compute");
    }

    @Override
    public String name() {
        return name;
    }

    void add(Op op) {
        ops.add(op);
    }

    Op next() {
        return position < ops.size() ? ops.get(position) : null;
    }

    @Override
    public void record(Event event, String step) {
        Op record = Op.record(this, step);
        SimEvent.of(event).set(record);
        add(record);
    }

    @Override
    public void waitFor(Event event) {
        Op target = SimEvent.of(event).latest();
        if (target != null) { // as cudaStreamWaitEvent on an event never recorded: nothing to wait for
            add(Op.waitFor(this, target));
        }
    }

    /** Nothing to wait for on the host: virtual time is resolved for all ranks at once, after the layer. */
    @Override
    public void synchronize(String step) {
    }

    static SimStream of(Stream s) {
        return org.streamfusion.WrongBackendException.require(SimStream.class, s, "stream");
    }
}
