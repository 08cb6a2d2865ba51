package org.streamfusion.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.DistributedAttention;
import org.streamfusion.JointText;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.planning.Planner;
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
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * One rank of a GPU job (docs/algorithms.md, section 3.7): joint text+image attention with B = 2 and per-batch
 * valid text lengths ({@code S_text} and about 3/5 of it), every method's best mesh on {@code 1xN}, image and
 * text outputs of every rank against float64 attention over the concatenated sequence.
 *
 * <p>{@code streamfusion check joint}; {@code --seq} is the image sequence.
 */
@Command(name = "joint", description = "Joint text+image attention of every method against float64.")
final class JointCheck implements Callable<Integer> {
    @Mixin
    ShapeOptions size = new ShapeOptions(4097, 8, 128);

    @Option(names = "--text", paramLabel = "S_TEXT", description = "text tokens of the first batch; the second has"
            + " about 3/5 of them (default: ${DEFAULT-VALUE})")
    int textLen = 512;

    /**
     * Runs this rank; prints PASS or FAIL.
     *
     * @return 0 on PASS, 1 on FAIL
     */
    @Override
    public Integer call() {
        DistributedEnvironment env = RankContext.environment();
        int n = env.worldSize();
        Topology topo = Topology.of(1, n);
        int s = size.seqLen;
        int st = textLen;
        int h = size.heads;
        int d = size.headDim;
        int batch = 2;
        int[] valid = {st, Math.max(1, st * 3 / 5)};
        AttentionShape shape = AttentionShape.of(batch, s, h, d, DType.BF16);
        AttentionShape textShape = AttentionShape.of(batch, st, h, d, DType.BF16);
        int rank = env.rank();
        float[][] image = GpuCheck.inputs(shape, 20261202L);
        float[][] text = GpuCheck.inputs(textShape, 20261203L);
        double[][] ref = ReferenceAttention.joint(image[0], image[1], image[2], text[0], text[1], text[2], batch, s, st,
                h, d, shape.softmaxScale(), valid);
        List<String> failures = new ArrayList<>();
        try (CudaRankDevice dev = RankContext.join(env, topo, GpuOptions.defaults().withPoison(true))) {
            for (Method m : Method.values()) {
                Plan plan = Planner.withDefaults().best(shape, topo, m).withJointText(st);
                int sl = plan.shardRows(rank);
                try (DeviceArena io = dev.newArena(); DistributedAttention attn = DistributedAttention.create(plan, dev)) {
                    TensorView[] x = new TensorView[4];
                    TensorView[] t = new TensorView[4];
                    for (int i = 0; i < 4; i++) {
                        Buffer b = io.allocate((long) batch * sl * h * d, DType.BF16);
                        Buffer tb = io.allocate((long) batch * st * h * d, DType.BF16);
                        if (i < 3) {
                            HostTransfer.upload(b, ShardedAttention.shard(image[i], plan, rank));
                            HostTransfer.upload(tb, text[i]);
                        } else {
                            HostTransfer.poison(b);
                            HostTransfer.poison(tb);
                        }
                        x[i] = TensorView.contiguous(b, batch, sl, h, d);
                        t[i] = TensorView.contiguous(tb, batch, st, h, d);
                    }
                    attn.forward(x[0], x[1], x[2], x[3], new JointText(t[0], t[1], t[2], t[3], valid));
                    attn.stream().synchronize(plan + " joint layer");
                    double imageErr = ReferenceAttention.relativeError(HostTransfer.download(x[3].base()),
                            localRows(ref[0], plan, rank, h * d, s));
                    double textErr = ReferenceAttention.relativeError(HostTransfer.download(t[3].base()), ref[1]);
                    System.out.printf(Locale.ROOT, "joint %s: image rel.err %.2e, text rel.err %.2e%n", plan, imageErr,
                            textErr);
                    if (!(imageErr <= GpuCheck.TOLERANCE && textErr <= GpuCheck.TOLERANCE)) {
                        failures.add(plan + ": image " + imageErr + ", text " + textErr);
                    }
                }
            }
        }
        failures.forEach(f -> System.out.println("FAILED: " + f));
        System.out.println((failures.isEmpty() ? "PASS" : "FAIL") + " rank " + rank);
        return failures.isEmpty() ? 0 : 1;
    }

    /** This rank's rows of a whole-sequence reference. */
    private static double[] localRows(double[] whole, Plan plan, int rank, int row, int s) {
        int sl = plan.shardRows(rank);
        int start = plan.shardStart(rank);
        int batch = whole.length / (s * row);
        double[] out = new double[batch * sl * row];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(whole, (b * s + start) * row, out, b * sl * row, sl * row);
        }
        return out;
    }
}
