package org.streamfusion.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BiConsumer;
import org.streamfusion.AttentionShape;
import org.streamfusion.DeviceMesh;
import org.streamfusion.DistributedAttention;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.InvalidStateException;
import org.streamfusion.JointText;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.WorkLimits;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.TensorView;

/**
 * A cluster on virtual time: runs the unchanged schedules of any plan on {@code M x G} simulated GPUs
 * of one {@link HardwareProfile} and says how long the layer takes and where the time goes (docs/simulator.md).
 * The planner ({@code org.streamfusion.planning.Planner}) ranks every mesh of a shape by these times.
 */
public final class Simulator {
    private final HardwareProfile profile;
    private final Topology topology;
    /** At most this many threads record a layer's ranks (0: as many as there are processors). */
    private final int recordingThreads;
    /** Every GPU on one host: the machines are logical, every transfer moves over NVLink. */
    private final boolean oneHost;

    private Simulator(HardwareProfile profile, Topology topology, int recordingThreads, boolean oneHost) {
        if (profile == null || topology == null) {
            throw new InvalidConfigurationException("simulator with profile=" + profile + " topology=" + topology,
                    "profile and topology are given");
        }
        this.profile = profile;
        this.topology = topology;
        this.recordingThreads = recordingThreads;
        this.oneHost = oneHost;
    }

    /** The same simulator recording ranks on at most {@code threads} threads (tests: 1 is the sequential order). */
    Simulator withRecordingThreads(int threads) {
        return new Simulator(profile, topology, threads, oneHost);
    }

    /**
     * A simulator of {@code topology} on GPUs of {@code profile}.
     *
     * @param profile  the GPU and machine numbers
     * @param topology machines and GPUs per machine
     * @return the simulator
     * @throws InvalidConfigurationException if an argument is null
     */
    public static Simulator of(HardwareProfile profile, Topology topology) {
        return new Simulator(profile, topology, 0, false);
    }

    /**
     * A simulator of {@code topology} as logical machines of one host, as this project's layers were measured
     * (docs/results/layers.md): the schedules see {@code M x G}, but every transfer moves over NVLink by the GPUs'
     * own movers (pushes by the SM kernel, pulls on the copy engines), no NIC and no network latency; the
     * profile's link is not used.
     *
     * @param profile  the GPU numbers
     * @param topology the logical machines and GPUs per machine
     * @return the simulator
     * @throws InvalidConfigurationException if an argument is null
     */
    public static Simulator onOneHost(HardwareProfile profile, Topology topology) {
        return new Simulator(profile, topology, 0, true);
    }

    /** {@return the profile the GPUs are simulated with} */
    public HardwareProfile profile() {
        return profile;
    }

    /** {@return the simulated machines and GPUs per machine} */
    public Topology topology() {
        return topology;
    }

    /**
     * One layer of {@code plan}: every rank builds the schedule and enqueues the layer, then time is
     * resolved. From 128 ranks on, the ranks are recorded on up to one thread per processor, which are
     * gone when this returns; the result is the same as with one.
     *
     * @param plan the plan, for this simulator's topology
     * @return the layer's time and where it went
     * @throws InvalidConfigurationException if the plan is for another topology, or its work passes
     *                                       {@link WorkLimits#SIMULATOR_STEPS}
     * @throws ScheduleDeadlockException if the schedule cannot finish
     */
    public SimulatedTime simulate(Plan plan) {
        if (!plan.mesh().topology().equals(topology)) {
            throw new InvalidConfigurationException("plan for " + plan.mesh().topology() + " on a simulated " + topology,
                    "mesh topology == simulated topology");
        }
        DeviceMesh mesh = plan.mesh();
        WorkLimits.check(WorkLimits.SIMULATOR_STEPS, "simulating " + mesh, WorkLimits.rankSteps(mesh.worldSize(),
                mesh.torus(), mesh.ulysses(), mesh.ring()), "rank-steps");
        try {
            return simulate(plan, false);
        } catch (ScheduleDeadlockException lean) {
            // Ops drop their step names (millions of strings kept alive cost more collector time than the
            // simulation); a deadlock is rare, so the layer runs again with them, to name the stuck step.
            SimulatedTime named = simulate(plan, true); // deadlocks again (the engine is deterministic), naming the step
            throw new InvalidStateException("the layer deadlocked without step names but not with them: " + named, lean);
        }
    }

    private SimulatedTime simulate(Plan plan, boolean keepSteps) {
        int n = topology.worldSize();
        List<SimStream> streams = new ArrayList<>();
        SimStream[] compute = enqueueOneLayer(plan, keepSteps, streams);
        new Engine(profile, new Links(topology, profile, oneHost), n, streams).run();
        double total = streams.stream().mapToDouble(stream -> stream.free).max().orElse(0);
        // the compute stream that ends last; the lowest rank among equals
        SimStream critical = Arrays.stream(compute).max(Comparator.comparingDouble(c -> c.free)).orElseThrow();
        // Whatever another stream runs after the compute stream's end is data movement (none in the schedules).
        double tail = total - critical.free;
        return new SimulatedTime(plan, total, critical.attentionSeconds, critical.waitedOnCommunication + tail,
                critical.waitedOnSynchronisation, critical.rank);
    }

    /**
     * Enqueues {@code layers} consecutive layers of {@code plan} on every rank, rank after rank, into
     * {@code streams}, calling {@code afterLayer} with the rank and the layer's index after each; returns
     * every rank's compute stream. Nothing is resolved.
     */
    SimStream[] enqueue(Plan plan, boolean keepSteps, int layers, List<SimStream> streams,
            BiConsumer<Integer, Integer> afterLayer) {
        int n = topology.worldSize();
        KernelModel model = new KernelModel(profile);
        SimStream[] compute = new SimStream[n];
        Map<String, Integer> sizes = new ConcurrentHashMap<>();
        for (int rank = 0; rank < n; rank++) {
            compute[rank] = enqueueRank(plan, keepSteps, layers, rank, model, streams, afterLayer, sizes);
        }
        return compute;
    }

    /** Ranks recorded per thread at least: below it a thread costs more than it saves. */
    private static final int RANKS_PER_THREAD = 64;

    /**
     * One layer on every rank, as {@link #enqueue}, recorded by up to as many threads as there are processors:
     * ranks record into their own streams only, so consecutive blocks of ranks record in parallel, each into its
     * own list, and the lists are joined in rank order, the order a single thread would have made.
     */
    private SimStream[] enqueueOneLayer(Plan plan, boolean keepSteps, List<SimStream> streams) {
        int n = topology.worldSize();
        int processors = Runtime.getRuntime().availableProcessors();
        int threads = Math.min(recordingThreads > 0 ? recordingThreads : processors, n / RANKS_PER_THREAD);
        if (threads < 2) {
            return enqueue(plan, keepSteps, 1, streams, (rank, layer) -> { });
        }
        KernelModel model = new KernelModel(profile);
        SimStream[] compute = new SimStream[n];
        Map<String, Integer> sizes = new ConcurrentHashMap<>();
        List<List<SimStream>> blocks = new ArrayList<>();
        List<Future<?>> done = new ArrayList<>();
        try (var pool = Executors.newFixedThreadPool(threads,
                Thread.ofPlatform().name("sf-sim-record-", 0).daemon(true).factory())) {
            for (int t = 0; t < threads; t++) {
                int from = (int) ((long) n * t / threads);
                int to = (int) ((long) n * (t + 1) / threads);
                List<SimStream> block = new ArrayList<>();
                blocks.add(block);
                done.add(pool.submit(() -> {
                    for (int rank = from; rank < to; rank++) {
                        compute[rank] = enqueueRank(plan, keepSteps, 1, rank, model, block, (r, layer) -> { }, sizes);
                    }
                }));
            }
            Throwable first = null;
            for (Future<?> f : done) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    if (first == null) {
                        first = e.getCause();
                    } else {
                        first.addSuppressed(e.getCause());
                    }
                }
            }
            if (first instanceof RuntimeException r) {
                throw r;
            }
            if (first instanceof Error err) {
                throw err;
            }
            if (first != null) {
                throw new InvalidStateException("recording " + plan + " failed", first);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InvalidStateException("interrupted while recording " + plan, e);
        }
        blocks.forEach(streams::addAll);
        return compute;
    }

    private SimStream enqueueRank(Plan plan, boolean keepSteps, int layers, int rank, KernelModel model,
            List<SimStream> streams, BiConsumer<Integer, Integer> afterLayer, Map<String, Integer> sizes) {
        AttentionShape s = plan.shape();
        int rows = plan.shardRows(rank);
        long elements = (long) s.batch() * rows * s.heads() * s.headDim();
        SimRankDevice device = new SimRankDevice(rank, topology, model, streams, keepSteps, sizes);
        DistributedAttention attention = DistributedAttention.create(plan, device);
        DeviceArena arena = device.newArena();
        TensorView[] qkvo = new TensorView[4];
        for (int i = 0; i < 4; i++) {
            qkvo[i] = TensorView.contiguous(arena.allocate(elements, s.dtype()), s.batch(), rows, s.heads(), s.headDim());
        }
        JointText text = null;
        if (plan.jointTextRows() > 0) {
            long textElements = (long) s.batch() * plan.jointTextRows() * s.heads() * s.headDim();
            TensorView[] t = new TensorView[4];
            for (int i = 0; i < 4; i++) {
                t[i] = TensorView.contiguous(arena.allocate(textElements, s.dtype()), s.batch(), plan.jointTextRows(),
                        s.heads(), s.headDim());
            }
            text = JointText.of(t[0], t[1], t[2], t[3]);
        }
        for (int layer = 0; layer < layers; layer++) {
            if (text != null) {
                attention.forward(qkvo[0], qkvo[1], qkvo[2], qkvo[3], text);
            } else {
                attention.forward(qkvo[0], qkvo[1], qkvo[2], qkvo[3]);
            }
            afterLayer.accept(rank, layer);
        }
        device.noteSizes();
        return SimStream.of(attention.stream());
    }
}
