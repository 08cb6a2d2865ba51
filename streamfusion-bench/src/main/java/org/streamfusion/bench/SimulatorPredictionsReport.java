package org.streamfusion.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SequencedMap;
import java.util.concurrent.Callable;
import org.streamfusion.AttentionShape;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.Method;
import org.streamfusion.Topology;
import org.streamfusion.planning.Planner;
import org.streamfusion.sim.HardwareProfile;
import org.streamfusion.sim.SimulatedTime;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code streamfusion simulator-predictions OUT [--quick]}: the simulator's predictions of docs/simulator.md,
 * "Predictions", from the profiles alone. For each cluster and shape every mesh of every method is simulated
 * ({@link Simulator#rank}) and each method's best mesh kept. Writes {@code OUT/simulator-predictions.md} (one
 * table per scenario: each method's best time and mesh, TAS and STREAMFUSION over USP, the pick in parts,
 * scaling efficiency) and one PNG per scenario: speedups over USP against the paper's reported averages for the
 * paper's testbed, layer time per method for the large clusters. {@code --quick} keeps the clusters of at most
 * 2 machines and the first shape of each scenario (the test's size).
 */
@Command(name = "simulator-predictions", description = "docs/simulator.md's prediction tables and PNGs.")
final class SimulatorPredictionsReport implements Callable<Integer> {
    static final int WIDTH = 900;
    static final int HEIGHT = 560;
    /** The paper's reported speedups over USP (its section 6, docs/algorithms.md, section 6). */
    static final double PAPER_SFU_AVERAGE = 1.35;
    static final double PAPER_TAS_AVERAGE_BEYOND_TWO = 1.27;

    /** One table: a profile, the clusters (M x 8), and the shapes. */
    record Scenario(String name, String title, HardwareProfile profile, List<Integer> machines,
            List<AttentionShape> shapes, boolean speedupPlot) {
    }

    /** One (cluster, shape): each method's best simulated time, and the pick. */
    record Row(Topology cluster, AttentionShape shape, Map<Method, SimulatedTime> best, SimulatedTime pick) {
        double speedupOverUsp(Method m) {
            SimulatedTime usp = best.get(Method.USP);
            SimulatedTime other = best.get(m);
            return usp == null || other == null ? Double.NaN : usp.totalSeconds() / other.totalSeconds();
        }
    }

    @Parameters(paramLabel = "OUT_DIR", description = "output folder, created if missing")
    Path out;

    @Option(names = "--quick", description = "clusters of at most 2 machines and the first shape of each scenario")
    boolean quick;

    static List<Scenario> scenarios() {
        return List.of(
                new Scenario("paper-testbed", "The paper's testbed: a100 with p4de-400G, M machines x 8 A100, Flux",
                        HardwareProfile.a100(), List.of(1, 2, 3, 4),
                        List.of(AttentionShape.of(1, 36864, 24, 128), AttentionShape.of(1, 65536, 24, 128)), true),
                new Scenario("h200-flux4096", "8 to 64 machines of 8 H200 (rail400G), Flux 4096x4096",
                        HardwareProfile.h200(), List.of(8, 16, 32, 64), List.of(AttentionShape.of(1, 65536, 24, 128)),
                        false),
                new Scenario("h200-video1m", "8 to 64 machines of 8 H200 (rail400G), 1M tokens, D=64",
                        HardwareProfile.h200(), List.of(8, 16, 32, 64), List.of(AttentionShape.of(1, 1048576, 24, 64)),
                        false));
    }

    /**
     * Writes the tables and plots.
     *
     * @return 0
     * @throws IOException if a file cannot be written
     */
    @Override
    public Integer call() throws IOException {
        Main.requireJFreeChart("simulator-predictions");
        write(out, quick, System.out).forEach(p -> System.out.println("wrote " + p));
        return 0;
    }

    static List<Path> write(Path out, boolean quick, PrintStream progress) throws IOException {
        Files.createDirectories(out);
        StringBuilder md = new StringBuilder();
        List<Path> written = new ArrayList<>();
        for (Scenario scenario : scenarios()) {
            List<Integer> machines = quick ? scenario.machines().stream().filter(m -> m <= 2).toList()
                    : scenario.machines();
            List<AttentionShape> shapes = quick ? scenario.shapes().subList(0, 1) : scenario.shapes();
            if (machines.isEmpty()) {
                continue;
            }
            List<Row> rows = new ArrayList<>();
            for (AttentionShape shape : shapes) {
                for (int m : machines) {
                    long start = System.nanoTime();
                    rows.add(row(scenario.profile(), Topology.of(m, 8), shape));
                    progress.printf(Locale.ROOT, "%s: %dx8 S=%d simulated in %.1f s%n", scenario.name(), m,
                            shape.seqLen(), (System.nanoTime() - start) / 1e9);
                }
            }
            md.append("### ").append(scenario.title()).append("\n\n").append(table(rows)).append('\n');
            Path png = out.resolve("simulator-" + scenario.name() + ".png");
            if (scenario.speedupPlot()) {
                Charts.lines(png, WIDTH, HEIGHT, scenario.title() + ": speedup over USP (simulated)",
                        "machines of 8 GPUs", "speedup over USP's best mesh", speedupSeries(scenario, rows), false);
            } else {
                Charts.lines(png, WIDTH, HEIGHT, scenario.title() + ": layer time of each method's best mesh"
                        + " (simulated)", "machines of 8 GPUs (log)", "ms per layer (log)", timeSeries(rows), true);
            }
            written.add(png);
        }
        Path table = out.resolve("simulator-predictions.md");
        Files.writeString(table, md, StandardCharsets.UTF_8);
        written.add(table);
        return written;
    }

    static Row row(HardwareProfile profile, Topology cluster, AttentionShape shape) {
        Map<Method, SimulatedTime> best = new EnumMap<>(Method.class);
        SimulatedTime pick = null;
        for (Planner.Candidate c : Planner.of(profile).enumerate(shape, cluster)) {
            if (!c.valid()) {
                continue;
            }
            pick = pick == null ? c.time() : pick; // ranked fastest first
            best.putIfAbsent(c.method(), c.time());
        }
        if (pick == null) {
            throw new InvalidConfigurationException("no valid mesh for " + shape + " on " + cluster,
                    "at least one mesh satisfies every rule");
        }
        return new Row(cluster, shape, best, pick);
    }

    static String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder("| cluster | S |");
        for (Method m : Method.values()) {
            sb.append(' ').append(m).append(" |");
        }
        sb.append(" TAS/USP | SFU/USP | pick: time (compute, exposed, sync) |\n|");
        sb.append(" --- |".repeat(Method.values().length + 5)).append('\n');
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "| %dx%d | S=%d |", r.cluster().machines(),
                    r.cluster().gpusPerMachine(), r.shape().seqLen()));
            for (Method m : Method.values()) {
                SimulatedTime t = r.best().get(m);
                sb.append(t == null ? " - |" : String.format(Locale.ROOT, " %.2f (%s) |", t.totalSeconds() * 1e3,
                        degrees(t)));
            }
            SimulatedTime p = r.pick();
            sb.append(' ').append(ratio(r.speedupOverUsp(Method.TAS))).append(" | ")
                    .append(ratio(r.speedupOverUsp(Method.STREAMFUSION))).append(" | ")
                    .append(String.format(Locale.ROOT, "%s: %.2f ms (compute %.2f, exposed %.2f, sync %.2f) |\n",
                            p.plan().mesh().toString().replaceAll(" on \\d+x\\d+$", ""), p.totalSeconds() * 1e3,
                            p.computeSeconds() * 1e3, p.exposedCommunicationSeconds() * 1e3,
                            p.synchronisationSeconds() * 1e3));
        }
        // Scaling efficiency of the pick against the scenario's smallest cluster, per shape: a list.
        sb.append('\n');
        for (Row r : rows) {
            Row base = rows.stream().filter(b -> b.shape().equals(r.shape())).findFirst().orElseThrow();
            if (base != r) {
                double efficiency = base.pick().totalSeconds() * base.cluster().worldSize()
                        / (r.pick().totalSeconds() * r.cluster().worldSize());
                sb.append(String.format(Locale.ROOT, "- scaling efficiency of the pick at S=%d, %dx8 against %dx8: %.2f\n",
                        r.shape().seqLen(), r.cluster().machines(), base.cluster().machines(), efficiency));
            }
        }
        return sb.toString();
    }

    private static String degrees(SimulatedTime t) {
        String mesh = t.plan().mesh().toString();
        return mesh.substring(mesh.indexOf('(') + 1, mesh.indexOf(')'));
    }

    private static String ratio(double x) {
        return Double.isNaN(x) ? "-" : String.format(Locale.ROOT, "%.2fx", x);
    }

    /** Each method's speedup over USP per machine count, one series per shape, and the paper's averages. */
    private static SequencedMap<String, List<double[]>> speedupSeries(Scenario scenario, List<Row> rows) {
        SequencedMap<String, List<double[]>> series = new LinkedHashMap<>();
        for (Method m : List.of(Method.TAS, Method.STREAMFUSION)) {
            for (AttentionShape shape : scenario.shapes()) {
                List<double[]> points = rows.stream()
                        .filter(r -> r.shape().equals(shape) && !Double.isNaN(r.speedupOverUsp(m)))
                        .map(r -> new double[] {r.cluster().machines(), r.speedupOverUsp(m)}).toList();
                if (!points.isEmpty()) {
                    series.put(m + " / USP, S=" + shape.seqLen(), points);
                }
            }
        }
        List<double[]> sfu = new ArrayList<>();
        List<double[]> tas = new ArrayList<>();
        for (int m : scenario.machines()) {
            sfu.add(new double[] {m, PAPER_SFU_AVERAGE});
            if (m > 2) {
                tas.add(new double[] {m, PAPER_TAS_AVERAGE_BEYOND_TWO});
            }
        }
        series.put("paper: STREAMFUSION / USP, average " + PAPER_SFU_AVERAGE + "x", sfu);
        series.put("paper: TAS / USP beyond 2 machines, average " + PAPER_TAS_AVERAGE_BEYOND_TWO + "x", tas);
        return series;
    }

    /** Each method's best layer time (ms) per machine count; a method valid on no cluster has no series. */
    static SequencedMap<String, List<double[]>> timeSeries(List<Row> rows) {
        SequencedMap<String, List<double[]>> series = new LinkedHashMap<>();
        for (Method m : Method.values()) {
            List<double[]> points = rows.stream().filter(r -> r.best().containsKey(m))
                    .map(r -> new double[] {r.cluster().machines(), r.best().get(m).totalSeconds() * 1e3}).toList();
            if (!points.isEmpty()) {
                series.put(m.toString(), points);
            }
        }
        return series;
    }
}
