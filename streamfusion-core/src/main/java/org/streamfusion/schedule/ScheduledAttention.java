package org.streamfusion.schedule;

import org.streamfusion.DistributedAttention;
import org.streamfusion.Plan;
import org.streamfusion.spi.Communicator;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.spi.RankBackend;

/**
 * What every schedule shares: the arena that owns its workspace, the three streams of docs/algorithms.md, section 4
 * (compute; ring traffic; everything else), the shard checks and the lifecycle. A subclass allocates
 * its workspace from {@link #arena} in its constructor (closing the arena if that fails) and enqueues
 * one layer in {@link #enqueue}.
 */
abstract class ScheduledAttention implements DistributedAttention {
    protected final Plan plan;
    protected final RankBackend device;
    protected final DeviceArena arena;
    protected final Stream compute;
    protected final Stream ringStream;
    protected final Stream commStream;
    private boolean closed;

    ScheduledAttention(Plan plan, RankBackend device) {
        this.plan = plan;
        this.device = device;
        this.arena = device.newArena();
        try {
            compute = arena.createStream("compute");
            ringStream = arena.createStream(Communicator.RING_LANE);
            commStream = arena.createStream("comm");
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    @Override
    public final Plan plan() {
        return plan;
    }

    @Override
    public final Stream stream() {
        return compute;
    }

    @Override
    public final void forward(TensorView q, TensorView k, TensorView v, TensorView o) {
        if (closed) {
            throw new IllegalStateException("attention is closed");
        }
        DistributedAttention.checkShards(plan, q, k, v, o);
        enqueue(q, k, v, o);
    }

    /** Enqueues one layer; inputs are ready on {@link #compute}, and {@code o} must be ready on it after. */
    protected abstract void enqueue(TensorView q, TensorView k, TensorView v, TensorView o);

    @Override
    public final void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }
}
