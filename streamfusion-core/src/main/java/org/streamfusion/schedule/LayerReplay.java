package org.streamfusion.schedule;

import java.util.function.Consumer;
import org.streamfusion.CapturedLayer;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.InvalidStateException;
import org.streamfusion.Plan;
import org.streamfusion.backend.Stream;
import org.streamfusion.spi.StreamCapture;

/** A {@link CapturedLayer}: the layer's graph launched, or the layer enqueued again when there is none. */
final class LayerReplay implements CapturedLayer {
    private final ScheduledAttention layer;
    /** {@code null} when replays are eager. */
    private final StreamCapture.Replay graph;
    private final String reason;
    private final Runnable replay;
    private final Consumer<Stream> replayAfter;
    private boolean closed;

    LayerReplay(ScheduledAttention layer, StreamCapture.Replay graph, String reason, Runnable replay,
            Consumer<Stream> replayAfter) {
        this.layer = layer;
        this.graph = graph;
        this.reason = reason;
        this.replay = replay;
        this.replayAfter = replayAfter;
    }

    @Override
    public Plan plan() {
        return layer.plan();
    }

    @Override
    public Mode replayMode() {
        return graph == null ? Mode.EAGER : Mode.GRAPH;
    }

    @Override
    public String replayReason() {
        return reason;
    }

    @Override
    public void replay() {
        requireOpen();
        replay.run();
    }

    @Override
    public void replay(Stream caller) {
        requireOpen();
        if (caller == null) { // as forward(..., caller): the caller's order needs the caller's stream
            throw new InvalidConfigurationException("caller=null",
                    "the caller's stream is given (replay() runs on the layer's own)");
        }
        replayAfter.accept(caller);
    }

    private void requireOpen() {
        if (closed) {
            throw new InvalidStateException("captured layer is closed");
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            layer.released(this);
            if (graph != null) {
                graph.close();
            }
        }
    }

    @Override
    public String toString() {
        return "captured " + layer.plan() + " (" + replayMode() + ": " + reason + ")";
    }
}
