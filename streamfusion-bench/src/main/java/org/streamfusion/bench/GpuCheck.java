package org.streamfusion.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.DistributedAttention;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.LinkClass;
import org.streamfusion.LinkCompression;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.QkvExchange;
import org.streamfusion.Topology;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.TensorView;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cpu.ShardedAttention;
import org.streamfusion.gpu.CudaRankDevice;
import org.streamfusion.gpu.GpuOptions;
import org.streamfusion.gpu.HostTransfer;
import org.streamfusion.launch.DistributedEnvironment;
import org.streamfusion.planning.Planner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code streamfusion check attention}, one rank of a GPU job (start it with {@code streamfusion launch}, torchrun,
 * srun or mpirun): runs every valid mesh of every method on real GPUs, checks each rank's output against float64
 * attention over the same bf16-rounded inputs, and times each layer with CUDA events (median of {@code --reps}
 * after warm-up), reporting each method against this run's own USP.
 *
 * <p>{@code --compression fp8} runs each plan with e4m3 on its inter-machine transfers instead
 * ({@link LinkCompression#FP8_E4M3}, checked against {@link #FP8_TOLERANCE}); {@code both} runs each plan both
 * ways. A STREAMFUSION mesh whose groups span machines cannot compress and is listed as refused. {@code --qkv}
 * says how Q, K and V cross a two-sided Ulysses step ({@link QkvExchange}): as the plan's default decides,
 * separately, or {@code both}: each plan that groups them by default runs once more with {@code +separate},
 * timed in the same pass.
 */
@Command(name = "attention", description = "Every method on every valid mesh against float64 attention, timed.")
final class GpuCheck implements Callable<Integer> {
    static final double TOLERANCE = 1e-2; // bf16 (or fp16) inputs and output
    /**
     * e4m3 on the slow links: its 3-bit mantissa on Q, K, V and O (docs/algorithms.md, section 7). Above the 5e-2
     * the CPU suite holds on Gaussian inputs: on this check's uniform inputs the CPU path itself gives
     * TORUS_TWO_SIDED(t=2, u'=2, r=1) on 4x1, whose K and V cross machines in e4m3 twice, 4.98e-2 to 5.03e-2.
     */
    static final double FP8_TOLERANCE = 6e-2;

    /** What crosses the machines: bf16 as is, e4m3, or each plan both ways. */
    enum Compression { EXACT, FP8, BOTH }

    /** How Q, K and V cross a two-sided Ulysses step: the plan's default, separately, or each plan both ways. */
    enum QkvMode { AUTO, SEPARATE, BOTH }

    @Mixin
    LayerOptions layer = new LayerOptions("1xN", 4096, 8, 128, 20);

    @Option(names = "--check", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "compare every rank's output with float64 attention; --no-check times only (default: on)")
    boolean check;

    @Option(names = "--compression", defaultValue = "EXACT",
            description = "between machines: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})")
    Compression compression;

    @Option(names = "--dtype", defaultValue = "BF16", description = "element type: BF16 or F16 (default: ${DEFAULT-VALUE})")
    DType dtype;

    @Option(names = "--qkv", defaultValue = "AUTO",
            description = "the Q, K, V exchange: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})")
    QkvMode qkv;

    /**
     * Runs this rank; prints PASS or FAIL.
     *
     * @return 0 on PASS, 1 on FAIL
     */
    @Override
    public Integer call() {
        int reps = layer.reps(); // a usage error before joining a job
        DistributedEnvironment env = RankContext.environment();
        Topology topo = layer.topology(env.worldSize());
        int n = topo.worldSize();
        String compression = this.compression.name().toLowerCase(Locale.ROOT);
        String qkv = this.qkv.name().toLowerCase(Locale.ROOT);
        if (dtype != DType.BF16 && dtype != DType.F16) {
            throw new InvalidConfigurationException("--dtype " + dtype, "the GPU layer's tensors are BF16 or F16");
        }
        AttentionShape shape = layer.shape().withDType(dtype);
        int h = shape.heads();
        int d = shape.headDim();
        int rank = env.rank();
        int sl = shape.shardRows(n, rank); // the default split: any S >= N
        boolean ok = true;
        GpuOptions options = GpuOptions.defaults().withPoison(true);
        try (CudaRankDevice dev = RankContext.join(env, topo, options);
                DeviceArena io = dev.newArena()) {
            // With a host reference every rank needs the whole sequence; without, only its own shard.
            float[][] global = check ? inputs(shape, 20261122L) : null;
            double[] ref = check ? localReference(shape, global, n, rank) : null;
            float[][] local = check ? null : inputs(AttentionShape.of(1, sl, h, d, dtype), 20261122L + 31L * rank);
            TensorView[] x = new TensorView[4];
            for (int i = 0; i < 4; i++) {
                Buffer b = io.allocate((long) sl * h * d, dtype);
                if (i < 3) {
                    HostTransfer.upload(b, check ? ShardedAttention.shard(global[i], shape, n, rank) : local[i]);
                }
                x[i] = TensorView.contiguous(b, 1, sl, h, d);
            }
            List<Planner.Candidate> candidates = new ArrayList<>(Planner.withDefaults().enumerate(shape, topo));
            candidates.removeIf(c -> !c.valid());
            // USP first: the planner's best USP mesh is this run's anchor.
            candidates.sort((a, b) -> Boolean.compare(b.method() == Method.USP, a.method() == Method.USP));
            List<Plan> plans = new ArrayList<>();
            List<String> rows = new ArrayList<>();
            for (Planner.Candidate c : candidates) {
                if (!compression.equals("fp8")) {
                    Plan plan = c.plan();
                    boolean grouping = plan.groupsQkv(shape.dtype());
                    if (!qkv.equals("separate") || !grouping) {
                        plans.add(plan);
                    }
                    if (!qkv.equals("auto") && grouping) {
                        plans.add(plan.withQkvExchange(QkvExchange.SEPARATE));
                    }
                }
                if (!compression.equals("exact") && topo.machines() > 1) {
                    try {
                        plans.add(c.plan().withInterMachine(LinkCompression.FP8_E4M3));
                    } catch (InvalidConfigurationException e) {
                        rows.add(String.format(Locale.ROOT, "%-44s refused: %s", c.plan().mesh() + " +fp8", e.rule()));
                    }
                }
            }
            // Pass 0 warms the JVM, NCCL's connections and the kernels on every plan; pass 1 measures.
            for (Plan plan : plans) {
                measure(dev, plan, x, 0);
            }
            double uspMs = Double.NaN;
            for (Plan plan : plans) {
                boolean fp8 = plan.interMachine() != LinkCompression.NONE;
                double tolerance = fp8 ? FP8_TOLERANCE : TOLERANCE;
                long before = dev.bytes(LinkClass.INTRA_MACHINE) + dev.bytes(LinkClass.INTER_MACHINE);
                double err = Double.NaN;
                double median;
                try (DistributedAttention attn = DistributedAttention.create(plan, dev)) {
                    HostTransfer.poison(x[3].base()); // earlier plans left a correct O there
                    attn.forward(x[0], x[1], x[2], x[3]);
                    attn.stream().synchronize(plan + " checked layer");
                    if (check) {
                        err = ReferenceAttention.relativeError(HostTransfer.download(x[3].base()), ref);
                        ok &= err <= tolerance;
                    }
                }
                long moved = dev.bytes(LinkClass.INTRA_MACHINE) + dev.bytes(LinkClass.INTER_MACHINE) - before;
                median = measure(dev, plan, x, reps);
                if (plan.method() == Method.USP && (!fp8 || compression.equals("fp8")) && Double.isNaN(uspMs)) {
                    uspMs = median;
                }
                double tflops = shape.flops() / (median * 1e-3) / 1e12;
                String label = plan.mesh() + (fp8 ? " +fp8" : "")
                        + (plan.qkvExchange() == QkvExchange.SEPARATE ? " +separate" : "");
                rows.add(String.format(Locale.ROOT, "%-44s %10.2e %6s %9.3f %9.1f %8.2f %12d", label, err,
                        check ? (err <= tolerance ? "ok" : "FAIL") : "-", median, tflops, uspMs / median, moved));
            }
            System.out.printf(Locale.ROOT, "rank %d of %d on GPU %d: %s, %s, one-sided movers push %s pull %s, %s, layer time"
                    + " median of %d (CUDA events) after a warm-up pass over every plan; TFLOP/s = 4*B*H*S^2*D / time, all"
                    + " GPUs together; %s%n", rank, n, dev.cudaDevice(), topo, shape, options.push(), options.pull(),
                    dev.emulatedLinkReport(), reps, dev.transportReport());
            System.out.printf(Locale.ROOT, "%-44s %10s %6s %9s %9s %8s %12s%n", "method (mesh)", "rel.err", "", "ms",
                    "TFLOP/s", "vs USP", "bytes sent");
            rows.forEach(System.out::println);
            System.out.println((ok ? "PASS" : "FAIL") + " rank " + rank);
        }
        return ok ? 0 : 1;
    }

    /** Median milliseconds of {@code reps} layers (CUDA events) after 3 untimed ones; with 0 reps only warms up. */
    private static double measure(CudaRankDevice dev, Plan plan, TensorView[] x, int reps) {
        return LayerTiming.measure(dev, plan, x, 3, reps).medianMs();
    }

    /** The same seeded inputs on every rank, rounded to bf16 as the device will hold them. */
    static float[][] inputs(AttentionShape shape, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[][] x = new float[3][Math.toIntExact(shape.elements())];
        for (float[] t : x) {
            for (int i = 0; i < t.length; i++) {
                t[i] = HostTransfer.round((float) rnd.nextDouble(-1.7, 1.7), shape.dtype());
            }
        }
        return x;
    }

    /** float64 attention of this rank's query rows against the whole sequence (B = 1). */
    static double[] localReference(AttentionShape shape, float[][] g, int n, int rank) {
        float[] q = ShardedAttention.shard(g[0], shape, n, rank);
        return ReferenceAttention.attention(q, g[1], g[2], 1, shape.shardRows(n, rank), shape.seqLen(), shape.heads(),
                shape.headDim(), shape.softmaxScale());
    }
}
