package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.DistributedAttention;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.TensorView;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cpu.ShardedAttention;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.gpu.CudaWorld;
import org.streamfusion.gpu.GpuOptions;
import org.streamfusion.gpu.HostTransfer;
import org.streamfusion.planning.Planner;

/**
 * Large logits and NaN/Inf through every valid plan of a 2x2 and a 1x4 world on one GPU, each rank's output
 * against float64 attention of the whole layer: the GPU twin of {@code ExtremeValuesTest} (CPU, 2x2) and the
 * world-wide counterpart of {@code KernelExtremesGpuTest} (one kernel, four launches). RING(r=4) and the other
 * r=4 meshes fold four KV blocks in four ring steps, carrying the fp32 state across them.
 */
@Tag("gpu")
class OneGpuWorldExtremeValuesGpuTest {
    /** S = 4*256+3: ragged shards of 257, 257, 257 and 256 rows, each more than two 128-key tiles. */
    static final AttentionShape SHAPE = AttentionShape.of(1, 4 * 256 + 3, 4, 128, DType.BF16);
    static final int H = SHAPE.heads();
    static final int D = SHAPE.headDim();
    /** Inputs and their float64 reference, computed once per case and shared by both topologies. */
    private static final Map<String, Case> CASES = new HashMap<>();

    record Case(String label, float[] q, float[] k, float[] v, double[] ref) {
    }

    static Stream<Arguments> topologiesAndLogits() {
        return Stream.of("2x2", "1x4").flatMap(t -> Stream.of(30.0, 100.0).map(c -> Arguments.of(t, c)));
    }

    /** Every q and k element c + N(0, 1): scores near 1.1e5 at c = 100, spread by about 100 between keys. */
    @ParameterizedTest(name = "{0} c={1}")
    @MethodSource("topologiesAndLogits")
    void equalLargeLogitsMatchFloat64OnEveryPlanAndRankOfAWorld(String topology, double c) {
        assumeTrue(CudaRuntime.isAvailable(), "no GPU");
        Case x = CASES.computeIfAbsent("c=" + c, label -> {
            SplittableRandom rnd = new SplittableRandom(20261207L);
            return withReference(label, gaussian(rnd, c), gaussian(rnd, c), gaussian(rnd, 0));
        });
        List<String> failures = new ArrayList<>();
        runEveryPlan(topology, x, (plan, rank, out, ref) -> {
            double err = ReferenceAttention.relativeError(out, ref);
            if (!(err <= GpuCheck.TOLERANCE)) {
                failures.add(String.format(Locale.ROOT, "%s, %s, %s, rank %d: relative error %.3e > %.0e", x.label(),
                        topology, plan.mesh(), rank, err, GpuCheck.TOLERANCE));
            }
            return String.format(Locale.ROOT, "%.2e", err);
        });
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    static Stream<Arguments> topologiesAndSpecialValues() {
        return Stream.of("2x2", "1x4").flatMap(t -> Stream.of("NaN in Q", "-Inf in Q", "+Inf in K", "NaN in K")
                .map(s -> Arguments.of(t, s)));
    }

    /**
     * One special value in a token of one rank's shard. In K it reaches every rank's rows of its head through
     * the ring steps and all-to-alls: +Inf makes the rows whose q element there is positive NaN (inf - inf in
     * the softmax) and masks the key for the others; NaN makes the whole head NaN. In Q it makes its own row
     * NaN wherever the plan moves that row. Every other row stays finite and within the bf16 bound.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("topologiesAndSpecialValues")
    void nanAndInfinityInQOrKGiveExactlyTheNanRowsOfFloat64OnEveryPlanAndRankOfAWorld(String topology, String special) {
        assumeTrue(CudaRuntime.isAvailable(), "no GPU");
        Case x = CASES.computeIfAbsent(special, label -> {
            SplittableRandom rnd = new SplittableRandom(7);
            float[] q = gaussian(rnd, 0);
            float[] k = gaussian(rnd, 0);
            float[] v = gaussian(rnd, 0);
            // token (rank of its shard), head, element; shards start at 0, 257, 514 and 771
            switch (label) {
                case "NaN in Q" -> q[at(300, 1, 7)] = Float.NaN;                 // rank 1
                case "-Inf in Q" -> q[at(600, 0, 3)] = Float.NEGATIVE_INFINITY;  // rank 2
                case "+Inf in K" -> k[at(900, 2, 5)] = Float.POSITIVE_INFINITY;  // rank 3
                case "NaN in K" -> k[at(5, 3, 2)] = Float.NaN;                   // rank 0
                default -> throw new IllegalArgumentException(label);
            }
            return withReference(label, q, k, v);
        });
        int nanRows = 0;
        for (int row = 0; row < SHAPE.seqLen() * H; row++) {
            nanRows += Double.isNaN(x.ref()[row * D]) ? 1 : 0;
        }
        assertTrue(nanRows > 0 && nanRows < SHAPE.seqLen() * H,
                special + ": float64 must have NaN and finite rows: " + nanRows);
        List<String> failures = new ArrayList<>();
        runEveryPlan(topology, x, (plan, rank, out, ref) -> {
            String where = special + ", " + topology + ", " + plan.mesh() + ", rank " + rank;
            List<Integer> finiteRows = new ArrayList<>();
            int nan = 0;
            String mismatch = null;
            for (int row = 0; row < out.length / D; row++) {
                boolean refNan = Double.isNaN(ref[row * D]);
                nan += refNan ? 1 : 0;
                for (int e = row * D; e < (row + 1) * D && mismatch == null; e++) {
                    if (refNan != Float.isNaN(out[e])) {
                        mismatch = where + ": row " + (plan.shardStart(rank) + row / H) + " head " + row % H + " element "
                                + e % D + " is " + out[e] + ", float64 " + ref[e];
                    }
                }
                if (!refNan) {
                    finiteRows.add(row);
                }
            }
            if (mismatch != null) {
                failures.add(mismatch);
            }
            float[] got = new float[finiteRows.size() * D];
            double[] want = new double[got.length];
            for (int i = 0; i < finiteRows.size(); i++) {
                System.arraycopy(out, finiteRows.get(i) * D, got, i * D, D);
                System.arraycopy(ref, finiteRows.get(i) * D, want, i * D, D);
            }
            double err = ReferenceAttention.relativeError(got, want); // +Infinity if any is NaN or infinite
            if (!(err <= GpuCheck.TOLERANCE)) {
                failures.add(String.format(Locale.ROOT, "%s: the finite rows' relative error %.3e > %.0e", where, err,
                        GpuCheck.TOLERANCE));
            }
            return String.format(Locale.ROOT, "%d NaN rows, finite rows %.2e", nan, err);
        });
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    /** What a test checks of one rank's output under one plan; returns the figure it prints. */
    interface RankCheck {
        String check(Plan plan, int rank, float[] out, double[] ref);
    }

    /**
     * Runs every valid plan of {@code topology} on one world, every rank uploading its shard of the case's
     * inputs, and checks each rank's output against its rows of the float64 reference.
     */
    private static void runEveryPlan(String topology, Case x, RankCheck check) {
        String[] mg = topology.split("x");
        Topology topo = Topology.of(Integer.parseInt(mg[0]), Integer.parseInt(mg[1]));
        List<Plan> plans = Planner.withDefaults().enumerate(SHAPE, topo).stream().filter(Planner.Candidate::valid)
                .map(Planner.Candidate::plan).toList();
        List<List<float[]>> outs;
        try (CudaWorld world = CudaWorld.create(topo, 0, GpuOptions.defaults().withPoison(true))) {
            outs = world.run(dev -> {
                int g = dev.rank();
                List<float[]> mine = new ArrayList<>();
                for (Plan plan : plans) {
                    try (DeviceArena io = dev.newArena();
                            DistributedAttention attn = DistributedAttention.create(plan, dev)) {
                        TensorView[] t = new TensorView[4];
                        float[][] in = {x.q(), x.k(), x.v(), null};
                        for (int i = 0; i < 4; i++) {
                            Buffer b = io.allocate((long) plan.shardRows(g) * H * D, DType.BF16);
                            if (in[i] != null) {
                                HostTransfer.upload(b, ShardedAttention.shard(in[i], plan, g));
                            }
                            t[i] = TensorView.contiguous(b, 1, plan.shardRows(g), H, D);
                        }
                        HostTransfer.poison(t[3].base()); // a row nothing wrote reads NaN: finite rows catch it
                        attn.forward(t[0], t[1], t[2], t[3]);
                        attn.stream().synchronize(x.label() + ", " + plan.mesh());
                        mine.add(HostTransfer.download(t[3].base()));
                    } catch (RuntimeException e) {
                        throw new IllegalStateException(x.label() + ", " + plan.mesh() + ", rank " + g + ": " + e, e);
                    }
                }
                return mine;
            });
        }
        for (int p = 0; p < plans.size(); p++) {
            Plan plan = plans.get(p);
            List<String> figures = new ArrayList<>();
            for (int rank = 0; rank < topo.worldSize(); rank++) {
                int from = plan.shardStart(rank) * H * D;
                double[] ref = Arrays.copyOfRange(x.ref(), from, from + plan.shardRows(rank) * H * D);
                figures.add("rank " + rank + " " + check.check(plan, rank, outs.get(rank).get(p), ref));
            }
            System.out.printf(Locale.ROOT, "%s on %s, %-36s %s%n", x.label(), topology, plan.mesh(),
                    String.join("; ", figures));
        }
    }

    private static Case withReference(String label, float[] q, float[] k, float[] v) {
        double[] ref = ReferenceAttention.attention(q, k, v, 1, SHAPE.seqLen(), H, D, SHAPE.softmaxScale());
        return new Case(label, q, k, v, ref);
    }

    private static int at(int token, int head, int element) {
        return (token * H + head) * D + element;
    }

    /** bf16-rounded {@code c + N(0, 1)}, every element of a whole-sequence tensor: what the device holds. */
    private static float[] gaussian(SplittableRandom rnd, double c) {
        float[] x = new float[Math.toIntExact(SHAPE.elements())];
        for (int i = 0; i < x.length; i++) {
            x[i] = HostTransfer.round((float) (c + rnd.nextGaussian()), DType.BF16);
        }
        return x;
    }
}
