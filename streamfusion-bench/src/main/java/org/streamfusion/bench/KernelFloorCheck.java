package org.streamfusion.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.streamfusion.AttentionShape;
import org.streamfusion.CapturedLayer;
import org.streamfusion.DType;
import org.streamfusion.DistributedAttention;
import org.streamfusion.LinkClass;
import org.streamfusion.Plan;
import org.streamfusion.ProcessGroup;
import org.streamfusion.Topology;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.gpu.CudaRankDevice;
import org.streamfusion.gpu.GpuOptions;
import org.streamfusion.launch.DistributedEnvironment;
import org.streamfusion.planning.CommunicationVolume;
import org.streamfusion.planning.Planner;
import org.streamfusion.sim.HardwareProfile;
import org.streamfusion.spi.Communicator;
import org.streamfusion.spi.Kernels;
import org.streamfusion.spi.RankBackend;
import org.streamfusion.spi.StreamCapture;
import org.streamfusion.spi.Team;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The floor of each method on a logical mesh, from one GPU (docs/graphs.md, "Floors"): rank 0 of every valid
 * plan of {@code TOPOLOGY} runs its unchanged schedule on this GPU with every transfer, put, get and barrier
 * removed (a rank's sends to itself too, which the real communicators carry out as copies: the floor leaves
 * them out), captured as a CUDA graph and replayed, so what is timed is that rank's own kernels and copies on the
 * GPU, without the host's enqueue (a small layer's eager time can be the host's). Its floor adds the time
 * of the bytes the plan cannot overlap ({@link CommunicationVolume}'s exposed elements) at the {@code h200}
 * profile's NVLink rate; the overlapped bytes are taken as hidden, so the floor is a lower bound. The outputs
 * are meaningless (nothing arrives); only the time is kept.
 *
 * <p>{@code streamfusion check kernel-floor}; it runs on one GPU ({@code launch --nproc 1}).
 */
@Command(name = "kernel-floor",
        description = "Each method's floor from one GPU, transfers removed (launch --nproc 1).")
final class KernelFloorCheck implements Callable<Integer> {
    @Mixin
    LayerOptions layer = new LayerOptions("1x2", 4608, 24, 128, 20);

    @Spec
    CommandSpec command;

    /** A rank of a larger job on this GPU alone: the device's kernels, memory and streams, no communication. */
    record TransfersRemoved(CudaRankDevice device, Topology topology, int rank) implements RankBackend {
        @Override
        public DeviceArena newArena() {
            return device.newArena();
        }

        @Override
        public DType storageType(DType requested) {
            return device.storageType(requested);
        }

        @Override
        public Kernels kernels() {
            return device.kernels();
        }

        @Override
        public Class<? extends Buffer> bufferType() {
            return device.bufferType();
        }

        /** The device's CUDA graphs: a replay times the GPU work alone, without the host's enqueue. */
        @Override
        public Optional<StreamCapture> streamCapture() {
            return device.streamCapture();
        }

        @Override
        public Communicator communicator() {
            int worldSize = topology.worldSize();
            int self = rank;
            return new Communicator() {
                @Override
                public int rank() {
                    return self;
                }

                @Override
                public int worldSize() {
                    return worldSize;
                }

                @Override
                public Team team(ProcessGroup group) {
                    return () -> group;
                }

                @Override
                public void scatterPush(List<Buffer> srcs, Buffer dst, int[] pes, Stream stream, String step) {
                }

                @Override
                public void gatherPull(List<Buffer> dsts, Buffer src, int[] pes, Stream stream, String step) {
                }

                @Override
                public void barrier(Team team, Stream stream, String step) {
                }

                @Override
                public void barrierAll(Stream stream, String step) {
                }

                @Override
                public void exchange(List<Transfer> sends, List<Transfer> recvs, Stream stream, String step) {
                }
            };
        }
    }

    /**
     * Runs on one GPU; prints the table.
     *
     * @return 0 once every plan is timed
     */
    @Override
    public Integer call() {
        int reps = layer.reps(); // a usage error before joining a job
        DistributedEnvironment env = DistributedEnvironment.fromSystem();
        Topology logical = layer.topology(env.worldSize());
        if (logical.machines() > 1) {
            // Exposed bytes are charged at NVLink's rate: a mesh across machines would need its link's.
            throw new ParameterException(command.commandLine(), "--topology " + logical
                    + ": the floor is for one machine (1xG)");
        }
        AttentionShape shape = layer.shape();
        double nvlink = HardwareProfile.h200().nvlinkBytesPerSecond();
        List<String> rows = new ArrayList<>();
        try (CudaRankDevice dev = CudaRankDevice.join(env, Topology.of(1, 1), GpuOptions.defaults());
                DeviceArena io = dev.newArena()) {
            // Rank 0's shard under the default split, the same for every plan of the topology.
            TensorView[] x = LayerTiming.seededShard(io, shape, logical.worldSize(), 0);
            List<Plan> plans = Planner.withDefaults().enumerate(shape, logical).stream()
                    .filter(Planner.Candidate::valid).map(Planner.Candidate::plan).toList();
            // A first pass warms the JIT and the GPU's clocks on every plan, so that no plan is timed cold.
            for (Plan plan : plans) {
                try (DistributedAttention attn = DistributedAttention.create(plan, new TransfersRemoved(dev, logical, 0))) {
                    GraphCheck.time(attn.stream(), () -> attn.forward(x[0], x[1], x[2], x[3]), 1);
                }
            }
            for (Plan plan : plans) {
                try (DistributedAttention attn = DistributedAttention.create(plan,
                        new TransfersRemoved(dev, logical, 0))) {
                    // Replayed as a CUDA graph: the GPU's time alone, not the host's enqueue of a small layer.
                    CapturedLayer layer = attn.capture(x[0], x[1], x[2], x[3]);
                    if (layer.replayMode() != CapturedLayer.Mode.GRAPH) {
                        throw new IllegalStateException(plan + " was not captured: " + layer.replayReason());
                    }
                    double ms = GraphCheck.time(attn.stream(), layer::replay, reps).layerMs();
                    CommunicationVolume.RankVolume v = CommunicationVolume.ofRank(plan, 0);
                    long exposed = (v.exposedElements(LinkClass.INTRA_MACHINE)
                            + v.exposedElements(LinkClass.INTER_MACHINE)) * shape.dtype().bytes();
                    double transferMs = exposed / nvlink * 1e3;
                    String row = String.format(Locale.ROOT, "%-40s %12.4f %12.2f %12.4f %12.4f", plan.mesh(), ms,
                            exposed / 1e6, transferMs, ms + transferMs);
                    rows.add(row);
                    System.out.println("timed: " + row); // progress, and what was timed if a later plan fails
                }
            }
        }
        System.out.printf(Locale.ROOT, "rank 0 of each valid plan of %s on one GPU, transfers removed: %s; layer ms ="
                + " CUDA events over bursts of consecutive graph replays, median of %d, after a warm-up pass over every"
                + " plan; exposed bytes at %.0f GB/s (h200"
                + " NVLink); floor = kernels + exposed transfer%n", logical, shape, reps, nvlink / 1e9);
        System.out.printf(Locale.ROOT, "%-40s %12s %12s %12s %12s%n", "method (mesh)", "kernels ms", "exposed MB",
                "transfer ms", "floor ms");
        rows.forEach(System.out::println);
        System.out.println("PASS rank 0");
        return 0;
    }
}
