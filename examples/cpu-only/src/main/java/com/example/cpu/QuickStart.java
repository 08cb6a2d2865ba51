package com.example.cpu;

import java.util.SplittableRandom;
import org.streamfusion.AttentionShape;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cpu.ShardedAttention;
import org.streamfusion.planning.Planner;

/** One attention layer spread over 2 machines x 2 GPUs, run on in-process CPU ranks, checked against float64. */
public final class QuickStart {
    public static void main(String[] args) {
        Topology topology = Topology.of(2, 2);                          // 2 machines x 2 GPUs
        AttentionShape shape = AttentionShape.of(1, 512, 24, 128);      // B, S, H, D (bf16 on GPUs; the CPU path stores fp32)
        Planner planner = Planner.withDefaults();
        System.out.print(planner.explain(shape, topology));             // every mesh, its cost, the choice
        Plan plan = planner.best(shape, topology, Method.STREAMFUSION);

        SplittableRandom random = new SplittableRandom(42);             // whole [B, S, H, D] inputs, row-major
        float[][] qkv = new float[3][Math.toIntExact(shape.elements())];
        for (float[] x : qkv) {
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) random.nextGaussian();
            }
        }
        float[] q = qkv[0], k = qkv[1], v = qkv[2];

        float[] o;
        try (CpuWorld world = CpuWorld.create(topology)) {              // in-process ranks, no GPU needed
            o = ShardedAttention.forward(world, plan, q, k, v);         // whole arrays in and out
        }
        double[] reference = ReferenceAttention.attention(q, k, v, shape.batch(), shape.seqLen(), shape.heads(),
                shape.headDim(), shape.softmaxScale());
        double error = ReferenceAttention.relativeError(o, reference);
        System.out.printf("%s: relative error %.2e against float64%n", plan.mesh(), error);
        if (!(error <= 1e-5)) {
            throw new IllegalStateException("relative error " + error + " exceeds 1e-5");
        }
    }
}
