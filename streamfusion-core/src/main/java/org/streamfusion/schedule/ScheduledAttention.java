package org.streamfusion.schedule;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.streamfusion.CapturedLayer;
import org.streamfusion.DType;
import org.streamfusion.DistributedAttention;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.InvalidStateException;
import org.streamfusion.JointText;
import org.streamfusion.LinkClass;
import org.streamfusion.Plan;
import org.streamfusion.WrongBackendException;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Event;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.planning.CommunicationVolume;
import org.streamfusion.spi.Communicator;
import org.streamfusion.spi.RankBackend;
import org.streamfusion.spi.StreamCapture;

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
    /** The device's kernels, counting this layer's copies. */
    protected final CountingKernels kernels;
    /** The inter-machine e4m3 links; {@code null} when the plan is exact or has one machine. */
    protected final Fp8Links fp8;
    /** The device's communicator, or the same behind {@link Fp8Communicator} when {@link #fp8} is present. */
    protected final Communicator comm;
    /** Join a caller's stream: the layer starts after {@link #callerReady}, the caller waits for {@link #layerDone}. */
    private final Event callerReady;
    private final Event layerDone;
    private boolean closed;
    /** The captured layers of this one that are open; closed with it. */
    private final List<LayerReplay> replays = new ArrayList<>();
    /** This rank's closed-form volumes, computed on the first recorded event. */
    private CommunicationVolume.RankVolume volume;

    ScheduledAttention(Plan plan, RankBackend device) {
        this.plan = plan;
        this.device = device;
        this.arena = device.newArena();
        this.kernels = new CountingKernels(device.kernels());
        try {
            compute = arena.createStream("compute");
            ringStream = arena.createStream(Communicator.RING_LANE);
            commStream = arena.createStream("comm");
            fp8 = Fp8Links.of(plan, device, kernels, arena);
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
        run(q, k, v, o, text, null);
    }

    /** One layer: checked, then enqueued, joined to {@code caller}'s stream when there is one, then recorded. */
    private void run(TensorView q, TensorView k, TensorView v, TensorView o, JointText text, Stream caller) {
        LayerEvent event = new LayerEvent();
        event.begin();
        check(q, k, v, o, text);
        joinCaller(caller);
        enqueueLayer(q, k, v, o, text);
        joinedByCaller(caller);
        if (device.recordsLayers() && event.shouldCommit()) {
            record(event, "eager", kernels.copies(), kernels.copyElements());
        }
    }

    /** What one layer enqueues on the layer's streams: the same eagerly and under a capture. */
    private void enqueueLayer(TensorView q, TensorView k, TensorView v, TensorView o, JointText text) {
        kernels.reset();
        if (comm instanceof Fp8Communicator f) {
            f.beginLayer();
        }
        enqueue(q, k, v, o, text);
    }

    /** The layer starts after what is on {@code caller} (none: on the layer's stream alone). */
    private void joinCaller(Stream caller) {
        if (caller != null) {
            if (caller.getClass() != compute.getClass()) {
                throw new WrongBackendException("the caller's stream", caller, compute.getClass());
            }
            caller.record(callerReady, plan.method() + " caller's inputs");
            compute.waitFor(callerReady);
        }
    }

    /** {@code caller}'s later work waits for the layer. */
    private void joinedByCaller(Stream caller) {
        if (caller != null) {
            compute.record(layerDone, plan.method() + " layer done");
            caller.waitFor(layerDone);
        }
    }

    @Override
    public final CapturedLayer capture(TensorView q, TensorView k, TensorView v, TensorView o) {
        return capture(q, k, v, o, null);
    }

    /**
     * One eager layer first (the checks, and the workspace and connections a first call makes), then the
     * same enqueue captured on the compute stream, whose forks to the other streams the capture follows.
     */
    @Override
    public final CapturedLayer capture(TensorView q, TensorView k, TensorView v, TensorView o, JointText text) {
        run(q, k, v, o, text, null);
        Optional<StreamCapture> backend = device.streamCapture();
        StreamCapture.Replay graph = null;
        String reason = "no graph capture on this backend";
        if (backend.isPresent()) {
            compute.synchronize(plan.method() + " before capture");
            try {
                graph = backend.get().capture(compute, () -> enqueueLayer(q, k, v, o, text));
                reason = graph.operations() + " graph operations";
            } catch (StreamCapture.Refused refused) {
                reason = "capture refused: " + refused.getMessage();
            }
        }
        LayerReplay replay;
        if (graph == null) {
            // A fallback: each replay runs the layer eagerly, at the host cost of forward.
            System.getLogger(ScheduledAttention.class.getName()).log(backend.isPresent() ? System.Logger.Level.INFO
                    : System.Logger.Level.DEBUG, "rank " + device.rank() + ", " + plan.mesh()
                    + ": captured layer replays eagerly (" + reason + ")");
            replay = new LayerReplay(this, null, reason, () -> run(q, k, v, o, text, null),
                    caller -> run(q, k, v, o, text, caller));
        } else {
            long copies = kernels.copies(); // what the captured enqueue counted: every replay makes the same
            long copyElements = kernels.copyElements();
            StreamCapture.Replay captured = graph;
            replay = new LayerReplay(this, graph, reason, () -> replayGraph(captured, null, copies, copyElements),
                    caller -> replayGraph(captured, caller, copies, copyElements));
        }
        replays.add(replay);
        return replay;
    }

    /** A captured layer closed by its user: the layer no longer holds it. */
    final void released(LayerReplay replay) {
        replays.remove(replay);
    }

    /** One graph launch on the compute stream, joined to {@code caller}'s like an eager layer. */
    private void replayGraph(StreamCapture.Replay graph, Stream caller, long copies, long copyElements) {
        LayerEvent event = new LayerEvent();
        event.begin();
        if (closed) {
            throw new InvalidStateException("attention is closed");
        }
        joinCaller(caller);
        graph.launch(compute);
        joinedByCaller(caller);
        if (device.recordsLayers() && event.shouldCommit()) {
            record(event, "graph", copies, copyElements);
        }
    }

    /** Every argument rule, before anything is enqueued: a refused call leaves the layer and the world usable. */
    private void check(TensorView q, TensorView k, TensorView v, TensorView o, JointText text) {
        if (closed) {
            throw new InvalidStateException("attention is closed");
        }
        CallChecks.forward(plan, device, q, k, v, o, text);
    }

    /** Fills a recorded layer event: only while a JFR recording enables it. */
    private void record(LayerEvent event, String replay, long copies, long copyElements) {
        if (volume == null) {
            volume = CommunicationVolume.ofRank(plan, device.rank()); // this rank's alone
        }
        DType storage = device.storageType(plan.shape().dtype());
        int bytes = storage.bytes();
        event.rank = device.rank();
        event.method = plan.method().name();
        event.mesh = plan.mesh().toString();
        event.shape = plan.shape().toString();
        event.intraMachineBytes = volume.elements(LinkClass.INTRA_MACHINE) * bytes;
        event.interMachineBytes = volume.elements(LinkClass.INTER_MACHINE) * bytes;
        event.interMachine = plan.interMachine().name();
        event.qkvExchange = !plan.exchangesQkv() ? "none"
                : plan.groupsQkv(storage) ? "grouped" : "separate";
        event.jointTextRows = plan.jointTextRows();
        event.copies = copies;
        event.copyBytes = copyElements * bytes;
        event.replay = replay;
        if (fp8 != null) {
            event.end(); // the duration stays the enqueue's: the counts wait for the layer's streams
            for (Stream s : List.of(compute, ringStream, commStream)) {
                s.synchronize(plan.method() + " fp8 counts");
            }
            long[] counts = fp8.countsSinceLastRead();
            event.fp8BlocksInBf16 = counts[0];
            event.fp8BlocksOverLimit = counts[1];
        }
        event.commit();
    }

    /** {@code count} copies of rank {@code rank}'s shard rows: the real rows of chunks that all hold its tokens. */
    protected final int[] rowsOf(int rank, int count) {
        int[] v = new int[count];
        Arrays.fill(v, plan.shardRows(rank));
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
            throw new InvalidConfigurationException("caller=null",
                    "the caller's stream is given (forward(q, k, v, o) runs on the layer's own)");
        }
        run(q, k, v, o, text, caller);
    }

    @Override
    public final void close() {
        if (!closed) {
            closed = true;
            RuntimeException first = null;
            for (LayerReplay replay : List.copyOf(replays)) {
                try {
                    replay.close(); // each one, whatever the others do: a graph left behind is leaked
                } catch (RuntimeException e) {
                    if (first == null) {
                        first = e;
                    } else {
                        first.addSuppressed(e);
                    }
                }
            }
            try {
                arena.close();
            } catch (RuntimeException e) {
                if (first == null) {
                    throw e;
                }
                first.addSuppressed(e);
            }
            if (first != null) {
                throw first;
            }
        }
    }
}
