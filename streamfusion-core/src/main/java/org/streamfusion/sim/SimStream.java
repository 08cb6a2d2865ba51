package org.streamfusion.sim;

import java.util.ArrayList;
import java.util.List;
import org.streamfusion.WrongBackendException;
import org.streamfusion.backend.Event;
import org.streamfusion.backend.Stream;
import org.streamfusion.spi.BackendStream;

/**
 * A stream of the simulating backend: the ops enqueued on it, in order, and where the engine has got to
 * in them. Nothing runs when an op is enqueued; the {@link Engine} gives every op its virtual start and
 * end once all ranks have enqueued the layer. Public only for {@link Stream}'s permits.
 */
final class SimStream implements BackendStream {
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

    /** Whether this stream's ops keep their step names (see {@link Op}). */
    final boolean keepSteps;

    SimStream(int rank, String name, boolean keepSteps) {
        this.keepSteps = keepSteps;
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

    /** The next op to run: its own, or another stream's record that it waits for. */
    Op next() {
        return position < ops.size() ? ops.get(position) : null;
    }

    /** Done with the next op. */
    void consumed() {
        position++;
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
        // Nothing to wait for on an event never recorded (as cudaStreamWaitEvent), or recorded on this
        // stream (stream order already holds). A wait is the record itself in this stream's list: no op of its own.
        if (target != null && target.stream != this) {
            add(target);
        }
    }

    /** Nothing to wait for on the host: virtual time is resolved for all ranks at once, after the layer. */
    @Override
    public void synchronize(String step) {
    }

    static SimStream of(Stream s) {
        return WrongBackendException.require(SimStream.class, s, "stream");
    }
}
