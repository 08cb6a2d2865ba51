package org.streamfusion.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.streamfusion.AttentionShape;
import org.streamfusion.CommunicationVolume;
import org.streamfusion.LinkClass;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Planner;
import org.streamfusion.Topology;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cpu.ShardedAttention;

/**
 * The command-line runner. {@code demo} (the default): plan a scaled-down Flux layer (H=24, D=128) on a
 * simulated 2x2 mesh, run StreamFusion and every baseline on the CPU reference path, check each against
 * float64 attention, and print the chosen mesh, the bytes per link class of each method and the errors.
 * {@code plan M G B S H D}: the planner's table for a real shape.
 */
public final class Main {
    private Main() {
    }

    /**
     * Runs the subcommand named by {@code args[0]} ({@code demo} when there is none); a bad one prints the
     * usage and exits with 2.
     *
     * @param args the subcommand and its arguments, as in the class comment
     */
    public static void main(String[] args) {
        String cmd = args.length == 0 ? "demo" : args[0];
        switch (cmd) {
            case "demo" -> System.exit(demo(args.length > 1 ? Integer.parseInt(args[1]) : 512));
            case "plan" -> {
                if (args.length > 1 && args[1].startsWith("--")) {
                    System.exit(SimulatedPlan.run(java.util.Arrays.copyOfRange(args, 1, args.length)));
                }
                if (args.length != 7) {
                    usage();
                }
                int[] v = new int[6];
                for (int i = 0; i < 6; i++) {
                    v[i] = Integer.parseInt(args[i + 1]);
                }
                System.out.print(Planner.withDefaults().explain(AttentionShape.of(v[2], v[3], v[4], v[5]), Topology.of(v[0], v[1])));
            }
            case "sweep" -> System.exit(SweepCommand.run(java.util.Arrays.copyOfRange(args, 1, args.length), System.out));
            case "sweep-report" -> System.exit(SweepReport.run(java.util.Arrays.copyOfRange(args, 1, args.length), System.out));
            case "simulator-validation" -> System.exit(SimulatorValidationReport.run(
                    java.util.Arrays.copyOfRange(args, 1, args.length)));
            case "simulator-predictions" -> System.exit(SimulatorPredictionsReport.run(
                    java.util.Arrays.copyOfRange(args, 1, args.length)));
            default -> usage();
        }
    }

    private static void usage() {
        System.err.println("usage: streamfusion demo [S]          run every method on a simulated 2x2 mesh (CPU)");
        System.err.println("       streamfusion plan M G B S H D  the planner's ranking of every mesh");
        System.err.println("       streamfusion plan --cluster MxG --profile h200|a100 [--link SPEC] [--fp8] B S H D");
        System.err.println("                                      every mesh ranked by simulated time, in parts");
        System.err.println("       streamfusion plan --cluster ... --mesh METHOD:t/u/r B S H D  that mesh alone");
        System.err.println("       streamfusion sweep [--help]    every method and mesh under each link setting (GPUs; --dry-run: CPU)");
        System.err.println("       streamfusion sweep-report CSV OUTDIR  markdown table and PNG plots of a sweep (CPU)");
        System.err.println("       streamfusion simulator-validation OUTDIR  the simulator against every measured layer: PNG and table");
        System.err.println("       streamfusion simulator-predictions OUTDIR [--quick]  docs/simulator.md's prediction tables and PNGs");
        System.exit(2);
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

        try { // inputs and one output held beside the reference: refused before the first allocation
            ReferenceAttention.requireFeasible(1, seqLen, seqLen, 24, 128, 16 * shape.elements());
        } catch (org.streamfusion.InvalidConfigurationException e) {
            System.err.println("demo: " + e.getMessage());
            return 2;
        }
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
