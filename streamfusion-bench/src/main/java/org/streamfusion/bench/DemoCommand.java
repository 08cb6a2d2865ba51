package org.streamfusion.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.streamfusion.AttentionShape;
import org.streamfusion.planning.CommunicationVolume;
import org.streamfusion.LinkClass;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.planning.Planner;
import org.streamfusion.Topology;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cpu.ShardedAttention;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code streamfusion demo} (the README's main job): plans a scaled-down Flux layer (H=24, D=128) on a simulated 2x2
 * mesh, runs StreamFusion and every baseline on the CPU reference path, checks each against float64 attention, and
 * prints the chosen mesh, the bytes per link class of each method and the errors.
 */
@Command(name = "demo", description = "Every method on a simulated 2x2 mesh (CPU) against float64 attention.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = {"-S", "--seq"}, paramLabel = "S", description = "sequence length S (default: ${DEFAULT-VALUE})")
    int seqLen = 512;

    /**
     * Runs every method and checks it.
     *
     * @return 0 when every method is exact and moved the closed form's bytes, else 1
     */
    @Override
    public Integer call() {
        return demo(seqLen);
    }

    static int demo(int seqLen) {
        long t0 = System.nanoTime();
        Topology topo = Topology.of(2, 2);
        AttentionShape shape = AttentionShape.of(1, seqLen, 24, 128);
        Planner planner = Planner.withDefaults();
        System.out.println("StreamFusion-J demo: a scaled-down Flux attention layer on a simulated 2x2 mesh (CPU reference path)");
        System.out.print(planner.explain(shape, topo));
        Plan sfu = planner.best(shape, topo, Method.STREAMFUSION);
        System.out.println("StreamFusion mesh: " + sfu.mesh());
        // Inputs and one output held beside the float64 reference: refused (exit 2) before the first allocation.
        ReferenceAttention.requireFeasible(1, seqLen, seqLen, 24, 128, 16 * shape.elements());

        SplittableRandom rnd = new SplittableRandom(System.nanoTime());
        float[][] qkv = new float[3][Math.toIntExact(shape.elements())];
        for (float[] x : qkv) {
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (rnd.nextDouble() * 2 - 1) * 1.7f;
            }
        }
        progress(t0, "float64 reference over " + shape);
        double[] ref = ReferenceAttention.attention(qkv[0], qkv[1], qkv[2], shape.batch(), shape.seqLen(), shape.heads(),
                shape.headDim(), shape.softmaxScale());

        List<String> rows = new ArrayList<>();
        double worst = 0;
        boolean ok = true;
        try (CpuWorld world = CpuWorld.create(topo)) {
            List<Plan> plans = new ArrayList<>();
            plans.add(sfu);
            // The torus itself (t = M), whatever the planner prefers at this small size.
            for (Planner.Candidate c : planner.enumerate(shape, topo, Method.STREAMFUSION)) {
                if (c.valid() && c.t() == topo.machines() && !c.plan().equals(sfu)) {
                    plans.add(c.plan());
                }
            }
            for (Method m : Method.values()) {
                if (m != Method.STREAMFUSION) {
                    plans.add(planner.best(shape, topo, m));
                }
            }
            for (Plan p : plans) {
                progress(t0, "running " + p.mesh());
                world.resetCounters();
                long s = System.nanoTime();
                float[] out = ShardedAttention.forward(world, p, qkv[0], qkv[1], qkv[2]);
                double ms = (System.nanoTime() - s) / 1e6;
                double rel = ReferenceAttention.relativeError(out, ref);
                double maxAbs = maxAbs(out, ref);
                worst = Math.max(worst, maxAbs);
                CommunicationVolume vol = CommunicationVolume.of(p);
                long intra = world.bytes(LinkClass.INTRA_MACHINE);
                long inter = world.bytes(LinkClass.INTER_MACHINE);
                boolean exact = rel <= 1e-5;
                boolean counted = intra == vol.total(LinkClass.INTRA_MACHINE) * Float.BYTES
                        && inter == vol.total(LinkClass.INTER_MACHINE) * Float.BYTES;
                ok &= exact && counted;
                rows.add(String.format(Locale.ROOT, "%-42s %14d %14d %12.2e %12.2e %9.0f  %s", p.mesh(), intra, inter, rel,
                        maxAbs, ms, (exact ? "exact" : "INEXACT") + (counted ? "" : ", bytes differ from closed form")));
            }
        }
        System.out.println();
        System.out.println("bytes per link class for one layer, all 4 ranks (fp32 on the CPU path; bf16 moves half):");
        System.out.printf(Locale.ROOT, "%-42s %14s %14s %12s %12s %9s%n", "method (mesh)", "intra-machine", "inter-machine",
                "rel. error", "max |err|", "wall ms");
        rows.forEach(System.out::println);
        System.out.printf(Locale.ROOT, "%nmax |err| against float64 attention over all methods: %.3e"
                + " (the pass check is each method's norm-wise rel. error <= 1e-5)%n", worst);
        System.out.printf(Locale.ROOT, "%s in %.1f s%n", ok ? "OK" : "FAILED", (System.nanoTime() - t0) / 1e9);
        return ok ? 0 : 1;
    }

    private static double maxAbs(float[] out, double[] ref) {
        double m = 0;
        for (int i = 0; i < out.length; i++) {
            double d = Math.abs(out[i] - ref[i]);
            m = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(m, d);
        }
        return m;
    }

    private static void progress(long t0, String what) {
        System.out.printf(Locale.ROOT, "[%6.1f s] %s%n", (System.nanoTime() - t0) / 1e9, what);
    }
}
