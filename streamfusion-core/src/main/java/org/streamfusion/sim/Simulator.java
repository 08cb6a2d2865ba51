package org.streamfusion.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import java.util.stream.IntStream;
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
    /** From this many ranks on, layers symmetric under their mesh's machine rotations resolve once per orbit. */
    private final int symmetricFrom;

    private Simulator(HardwareProfile profile, Topology topology, int recordingThreads, boolean oneHost,
            int symmetricFrom) {
        if (profile == null || topology == null) {
            throw new InvalidConfigurationException("simulator with profile=" + profile + " topology=" + topology,
                    "profile and topology are given");
        }
        this.profile = profile;
        this.topology = topology;
        this.recordingThreads = recordingThreads;
        this.oneHost = oneHost;
        this.symmetricFrom = symmetricFrom;
    }

    /** The same simulator recording ranks on at most {@code threads} threads (tests: 1 is the sequential order). */
    Simulator withRecordingThreads(int threads) {
        return new Simulator(profile, topology, threads, oneHost, symmetricFrom);
    }

    /** The same simulator resolving symmetric layers once per orbit from {@code ranks} on (tests: MAX_VALUE never). */
    Simulator withSymmetryFrom(int ranks) {
        return new Simulator(profile, topology, recordingThreads, oneHost, ranks);
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
        return new Simulator(profile, topology, 0, false, SYMMETRIC_FROM);
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
        return new Simulator(profile, topology, 0, true, SYMMETRIC_FROM);
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
     * gone when this returns (the result is the same as with one), and a layer symmetric under its mesh's machine
     * rotations is resolved for one rank per orbit ({@link Symmetry}): its time was the whole layer's in every case
     * tested, while its critical rank and how that rank's time splits can differ (the whole layer serves transfers
     * tied in virtual time in rank order, which no rotation keeps).
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
        SimStream[] compute = new SimStream[n];
        Symmetry symmetry = record(plan, keepSteps, streams, compute);
        new Engine(profile, new Links(topology, profile, oneHost, symmetry), symmetry, n, streams).run();
        double total = streams.stream().mapToDouble(stream -> stream.free).max().orElse(0);
        // the compute stream that ends last; the lowest rank among equals (a representative is its orbit's lowest)
        SimStream critical = Arrays.stream(compute).filter(Objects::nonNull)
                .max(Comparator.comparingDouble(c -> c.free)).orElseThrow();
        // Whatever another stream runs after the compute stream's end is data movement (none in the schedules).
        double tail = total - critical.free;
        return new SimulatedTime(plan, total, critical.attentionSeconds, critical.waitedOnCommunication + tail,
                critical.waitedOnSynchronisation, critical.rank);
    }

    /**
     * One rank's kernels for one layer of {@code plan}, counted: every kernel its schedule enqueues (attention, packing
     * and unpacking copies, format conversions), nothing moved and nothing waited for. Priced by
     * {@link RankKernels#seconds}, this is what the one-GPU floor check measures (docs/graphs.md, "Floors": the rank's
     * kernels replayed with a communicator that moves nothing), each kernel as it runs alone.
     *
     * @param plan the plan, for this simulator's topology
     * @param rank the rank, {@code 0 <= rank < worldSize}
     * @return the rank's kernels
     * @throws InvalidConfigurationException if the plan is for another topology or the rank is outside the world
     */
    public RankKernels rankKernels(Plan plan, int rank) {
        if (!plan.mesh().topology().equals(topology) || rank < 0 || rank >= topology.worldSize()) {
            throw new InvalidConfigurationException("rank " + rank + " of a plan for " + plan.mesh().topology()
                    + " on a simulated " + topology, "mesh topology == simulated topology and 0 <= rank < world size");
        }
        RankKernels.Tally tally = new RankKernels.Tally();
        enqueueRank(plan, false, 1, rank, new KernelModel(profile, tally), new ArrayList<>(), (r, layer) -> { },
                new ConcurrentHashMap<>());
        return tally.of(plan.shape().headDim());
    }

    /**
     * Records one layer of {@code plan} into {@code streams} and {@code compute} (by rank) and returns the symmetry
     * it is resolved under: from {@link #withSymmetryFrom} ranks on, only the representatives of the rotations the
     * layer is symmetric under ({@link SymmetryCheck}); otherwise every rank, and {@link Symmetry#NONE}.
     */
    Symmetry record(Plan plan, boolean keepSteps, List<SimStream> streams, SimStream[] compute) {
        int n = topology.worldSize();
        // One kernel model and one table of stream sizes for every rank recorded, checked or kept.
        KernelModel model = new KernelModel(profile);
        Map<String, Integer> sizes = new ConcurrentHashMap<>();
        if (n >= symmetricFrom) {
            SymmetryCheck check = new SymmetryCheck(rank -> {
                List<SimStream> own = new ArrayList<>();
                enqueueRank(plan, false, 1, rank, model, own, (r, layer) -> { }, sizes);
                return own;
            }, new RankBlocks(recordingThreads));
            Symmetry symmetry = check.axesThatHold(Symmetry.of(plan.mesh()));
            if (symmetry.orbitSize() > 1) {
                List<SimStream> representatives = new ArrayList<>();
                SimStream[] theirs = recordRanks(plan, keepSteps, symmetry.representatives(), representatives,
                        model, sizes);
                if (check.holds(symmetry, representatives)) {
                    streams.addAll(representatives);
                    System.arraycopy(theirs, 0, compute, 0, n);
                    return symmetry;
                }
            }
        }
        System.arraycopy(recordRanks(plan, keepSteps, IntStream.range(0, n).toArray(), streams, model, sizes), 0, compute,
                0, n);
        return Symmetry.NONE;
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

    /**
     * From this many ranks on, a layer whose schedules are symmetric under its mesh's machine rotations is resolved
     * for one rank per orbit ({@link Symmetry}); below it the whole layer resolves in milliseconds.
     */
    private static final int SYMMETRIC_FROM = 128;

    /**
     * One layer on each of {@code ranks} (ascending) into {@code streams}, in rank order, on up to one thread per
     * processor; returns the compute streams by rank (null for a rank not recorded).
     */
    private SimStream[] recordRanks(Plan plan, boolean keepSteps, int[] ranks, List<SimStream> streams,
            KernelModel model, Map<String, Integer> sizes) {
        SimStream[] compute = new SimStream[topology.worldSize()];
        new RankBlocks(recordingThreads).run("recording " + plan, ranks, streams, (rank, block) ->
                compute[rank] = enqueueRank(plan, keepSteps, 1, rank, model, block, (r, layer) -> { }, sizes));
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
