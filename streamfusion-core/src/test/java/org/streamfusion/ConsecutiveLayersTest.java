package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.TensorView;
import org.streamfusion.cpu.CpuBuffer;
import org.streamfusion.cpu.CpuOptions;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cpu.ShardedAttention;
import org.streamfusion.planning.Planner;

/**
 * One attention object, two layers with different inputs, no host wait between them: the second
 * layer's Q, K, V are written by a copy on the layer's own stream right after the first layer, so
 * every hazard across consecutive forwards (workspace reuse, one-sided writes into a peer's buffers,
 * the entry wait) shows up as a wrong second output. Same inputs twice would hide them.
 */
class ConsecutiveLayersTest {
    @ParameterizedTest(name = "{0}x{1}")
    @CsvSource({"2,2", "2,4", "4,2", "3,2"})
    void twoLayersWithDifferentInputsOnOneObjectAreBothExact(int machines, int gpus) {
        Topology topo = Topology.of(machines, gpus);
        int n = topo.worldSize();
        AttentionShape shape = AttentionShape.of(2, 2 * n, 12, 16);
        Inputs a = Inputs.fresh(shape);
        Inputs b = new Inputs(shape, a.seed + 1);
        double[] refA = ReferenceAttention.attention(a.q, a.k, a.v, 2, shape.seqLen(), 12, 16, shape.softmaxScale());
        double[] refB = ReferenceAttention.attention(b.q, b.k, b.v, 2, shape.seqLen(), 12, 16, shape.softmaxScale());
        List<String> failures = new ArrayList<>();
        CpuOptions[] options = {
            CpuOptions.defaults().withTimeout(Duration.ofSeconds(30)).withJitter(true, n),
            CpuOptions.defaults().withTimeout(Duration.ofSeconds(30)).withDelivery(CpuOptions.PutDelivery.IMMEDIATE)
                    .withJitter(true, n + 1)};
        for (CpuOptions opt : options) {
            try (CpuWorld w = CpuWorld.create(topo, opt)) {
                for (Planner.Candidate c : Planner.withDefaults().enumerate(shape, topo)) {
                    if (!c.valid()) {
                        continue;
                    }
                    float[][] outs = twoLayers(w, c.plan(), a, b);
                    double ea = ReferenceAttention.relativeError(outs[0], refA);
                    double eb = ReferenceAttention.relativeError(outs[1], refB);
                    if (!(ea <= 1e-5 && eb <= 1e-5)) {
                        failures.add(c.plan() + " (" + opt.delivery() + "): layer A " + ea + ", layer B " + eb
                                + " (seed " + a.seed + ")");
                    }
                }
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " failures:\n" + String.join("\n", failures));
    }

    /** Layer A from host-written inputs, then layer B whose inputs a copy on the layer's stream writes. */
    private static float[][] twoLayers(CpuWorld w, Plan plan, Inputs a, Inputs b) {
        AttentionShape s = plan.shape();
        int n = w.topology().worldSize();
        int sl = s.seqLen() / n;
        long len = (long) s.batch() * sl * s.heads() * s.headDim();
        List<float[][]> perRank = w.run(dev -> {
            int g = dev.rank();
            try (DeviceArena io = dev.newArena(); DistributedAttention attn = DistributedAttention.create(plan, dev)) {
                float[][] ga = {a.q, a.k, a.v};
                float[][] gb = {b.q, b.k, b.v};
                TensorView[] in = new TensorView[3];
                TensorView[] next = new TensorView[3];
                for (int i = 0; i < 3; i++) {
                    Buffer x = io.allocate(len, DType.F32);
                    ((CpuBuffer) x).write(ShardedAttention.shard(ga[i], s, n, g));
                    in[i] = TensorView.contiguous(x, s.batch(), sl, s.heads(), s.headDim());
                    Buffer y = io.allocate(len, DType.F32);
                    ((CpuBuffer) y).write(ShardedAttention.shard(gb[i], s, n, g));
                    next[i] = TensorView.contiguous(y, s.batch(), sl, s.heads(), s.headDim());
                }
                Buffer oa = io.allocate(len, DType.F32);
                Buffer ob = io.allocate(len, DType.F32);
                TensorView outA = TensorView.contiguous(oa, s.batch(), sl, s.heads(), s.headDim());
                TensorView outB = TensorView.contiguous(ob, s.batch(), sl, s.heads(), s.headDim());
                attn.forward(in[0], in[1], in[2], outA);
                for (int i = 0; i < 3; i++) {
                    dev.kernels().copy(next[i], in[i], attn.stream()); // layer B's inputs, stream-ordered
                }
                attn.forward(in[0], in[1], in[2], outB);
                attn.stream().synchronize("two layers");
                return new float[][] {((CpuBuffer) oa).read(), ((CpuBuffer) ob).read()};
            }
        });
        float[] outA = new float[a.q.length];
        float[] outB = new float[a.q.length];
        for (int g = 0; g < n; g++) {
            ShardedAttention.unshard(perRank.get(g)[0], outA, s, n, g);
            ShardedAttention.unshard(perRank.get(g)[1], outB, s, n, g);
        }
        return new float[][] {outA, outB};
    }
}
