package org.streamfusion.schedule;

import org.streamfusion.DistributedAttention;
import org.streamfusion.JointText;
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
    /** The inter-machine e4m3 links; {@code null} when the plan is exact or has one machine. */
    protected final Fp8Links fp8;
    /** The device's communicator, or the same behind {@link Fp8Communicator} when {@link #fp8} is present. */
    protected final Communicator comm;
    /** Join a caller's stream: the layer starts after {@link #callerReady}, the caller waits for {@link #layerDone}. */
    private final org.streamfusion.backend.Event callerReady;
    private final org.streamfusion.backend.Event layerDone;
    private boolean closed;

    ScheduledAttention(Plan plan, RankBackend device) {
        this.plan = plan;
        this.device = device;
        this.arena = device.newArena();
        try {
            compute = arena.createStream("compute");
            ringStream = arena.createStream(Communicator.RING_LANE);
            commStream = arena.createStream("comm");
            fp8 = Fp8Links.of(plan, device, arena);
            comm = fp8 == null ? device.communicator() : new Fp8Communicator(device.communicator(), fp8);
            callerReady = arena.createEvent();
            layerDone = arena.createEvent();
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
        forward(q, k, v, o, (JointText) null);
    }

    @Override
    public final void forward(TensorView q, TensorView k, TensorView v, TensorView o, JointText text) {
        LayerEvent event = new LayerEvent();
        event.begin();
        check(q, k, v, o, text);
        if (comm instanceof Fp8Communicator f) {
            f.beginLayer();
        }
        enqueue(q, k, v, o, text);
        if (event.shouldCommit()) {
            record(event);
        }
    }

    /** Fills a recorded layer event: only while a JFR recording enables it. */
    private void record(LayerEvent event) {
        org.streamfusion.CommunicationVolume.RankVolume volume = org.streamfusion.CommunicationVolume.of(plan)
                .rank(device.rank());
        int bytes = device.storageType(plan.shape().dtype()).bytes();
        event.rank = device.rank();
        event.method = plan.method().name();
        event.mesh = plan.mesh().toString();
        event.shape = plan.shape().toString();
        event.intraMachineBytes = volume.elements(org.streamfusion.LinkClass.INTRA_MACHINE) * bytes;
        event.interMachineBytes = volume.elements(org.streamfusion.LinkClass.INTER_MACHINE) * bytes;
        event.interMachine = plan.interMachine().name();
        event.jointTextRows = plan.jointTextRows();
        event.commit();
    }

    private void check(TensorView q, TensorView k, TensorView v, TensorView o, JointText text) {
        if (closed) {
            throw new IllegalStateException("attention is closed");
        }
        DistributedAttention.checkShards(plan, device.rank(), q, k, v, o);
        DistributedAttention.checkJointText(plan, text, q, k, v, o);
    }

    /** {@code count} copies of rank {@code rank}'s shard rows: the real rows of chunks that all hold its tokens. */
    protected final int[] rowsOf(int rank, int count) {
        int[] v = new int[count];
        java.util.Arrays.fill(v, plan.shardRows(rank));
        return v;
    }

    /**
     * Enqueues one layer; inputs are ready on {@link #compute}, and {@code o} (and {@code text.o()}) must be
     * ready on it after. {@code text} is {@code null} unless the plan has a joint segment.
     */
    protected abstract void enqueue(TensorView q, TensorView k, TensorView v, TensorView o, JointText text);

    @Override
    public final void forward(TensorView q, TensorView k, TensorView v, TensorView o, Stream caller) {
        forward(q, k, v, o, null, caller);
    }

    @Override
    public final void forward(TensorView q, TensorView k, TensorView v, TensorView o, JointText text, Stream caller) {
        if (caller == null) {
            throw new org.streamfusion.InvalidConfigurationException("caller=null",
                    "the caller's stream is given (forward(q, k, v, o) runs on the layer's own)");
        }
        check(q, k, v, o, text);
        caller.record(callerReady, plan.method() + " caller's inputs");
        compute.waitFor(callerReady);
        forward(q, k, v, o, text);
        compute.record(layerDone, plan.method() + " layer done");
        caller.waitFor(layerDone);
    }

    @Override
    public final void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }
}
