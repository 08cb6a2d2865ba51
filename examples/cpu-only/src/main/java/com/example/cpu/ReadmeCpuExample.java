package com.example.cpu;

import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.streamfusion.AttentionShape;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cpu.ShardedAttention;
import org.streamfusion.planning.Planner;

/**
 * The README's CPU snippet as a named module: plan a layer for 2 machines x 2 GPUs, run it on in-process
 * ranks, check it against float64 attention. It first checks that the library's only module in the boot
 * layer is the core: the CPU path loads no CUDA module and no bindings.
 */
public final class ReadmeCpuExample {
    private ReadmeCpuExample() {
    }

    public static void main(String[] args) {
        Set<String> library = new TreeSet<>();
        for (Module m : ModuleLayer.boot().modules()) {
            if (m.getName().startsWith("org.streamfusion")) {
                library.add(m.getName());
            }
        }
        if (!ReadmeCpuExample.class.getModule().isNamed() || !library.equals(Set.of("org.streamfusion"))) {
            throw new IllegalStateException("expected the named module com.example.cpu with org.streamfusion alone"
                    + " of the library's modules, found " + library);
        }
        System.out.println("library modules in the boot layer: " + library);

        // The README's snippet, as written there.
        Topology topology = Topology.of(2, 2);                          // 2 machines x 2 GPUs
        AttentionShape shape = AttentionShape.of(1, 1024, 24, 128);     // B, S, H, D (bf16, scale 1/sqrt(D))
        Planner planner = Planner.withDefaults();
        System.out.print(planner.explain(shape, topology));             // every mesh, its cost, the choice
        Plan plan = planner.best(shape, topology, Method.STREAMFUSION);

        float[] q = random(shape, 1), k = random(shape, 2), v = random(shape, 3);
        float[] o;
        try (CpuWorld world = CpuWorld.create(topology)) {              // in-process ranks, no GPU needed
            o = ShardedAttention.forward(world, plan, q, k, v);         // whole [B, S, H, D] arrays in and out
        }

        double err = ReferenceAttention.relativeError(o, ReferenceAttention.attention(q, k, v, shape.batch(),
                shape.seqLen(), shape.heads(), shape.headDim(), shape.softmaxScale()));
        System.out.printf("%s on %s, CPU path: relative error %.2e against float64%n", plan.mesh(), shape, err);
        if (!(err <= 1e-5)) {
            throw new IllegalStateException("relative error " + err + " exceeds 1e-5");
        }
    }

    private static float[] random(AttentionShape shape, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[Math.toIntExact(shape.elements())];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }
}
