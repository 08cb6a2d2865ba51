package org.streamfusion.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.streamfusion.LinkCompression;
import org.streamfusion.Method;
import org.streamfusion.Topology;
import org.streamfusion.sim.HardwareProfile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/**
 * {@code streamfusion sweep}: every method at every valid mesh of a logical topology, under each link
 * setting, over S, D and B; one launch of {@code streamfusion sweep-rank} per link setting (one JVM per GPU), the
 * emulated link passed as {@code -Dstreamfusion.emulatedLink=SPEC}; results appended to
 * {@code OUT/sweep.csv} with its layer simulated on the H200 profile. {@code --dry-run} prints the rows with
 * their predictions and runs nothing.
 */
@Command(name = "sweep", description = "Every method at every valid mesh under each link setting, timed (GPUs).")
public final class SweepCommand implements Callable<Integer> {
    /** The system property the CUDA backend reads its emulated link from (unset: no emulation). */
    public static final String EMULATED_LINK_PROPERTY = "streamfusion.emulatedLink";

    @Option(names = "--topology", defaultValue = "2x1", description = "logical MxG (machines x GPUs each); M*G GPUs are used")
    String topology;

    @Option(names = "--links", defaultValue = "none,unlimited,rail-400G,p4de-400G/gpu-of-8,eth-100G",
            description = "link settings, comma-separated: none (no emulation), a preset, PRESET/gpu-of-N, or GBPS,LATENCY_US,per-gpu|per-machine;"
                    + " a +fp8 suffix carries e4m3 between machines (e.g. rail-400G+fp8)")
    String links;

    @Option(names = "--fp8", description = "also run every emulated link setting with +fp8 (what e4m3 buys at each preset)")
    boolean fp8;

    @Option(names = "--seq", split = ",", description = "sequence lengths S (default: 4096, 8192, 16384 tokens per GPU)")
    List<Integer> seqLens;

    @Option(names = "--dims", split = ",", defaultValue = "64,128", description = "head widths D")
    List<Integer> headDims;

    @Option(names = "--batches", split = ",", defaultValue = "1,2,4", description = "batch sizes B")
    List<Integer> batches;

    @Option(names = "--heads", defaultValue = "24", description = "heads H")
    int heads;

    @Option(names = "--methods", split = ",", defaultValue = "ULYSSES,RING,USP,TAS,TORUS_TWO_SIDED,STREAMFUSION",
            description = "methods")
    List<Method> methods;

    @Option(names = "--warmup", defaultValue = "3", description = "untimed layers per mesh")
    int warmup;

    @Option(names = "--reps", defaultValue = "20", description = "timed layers per mesh (CUDA events; median, p10, p90)")
    int reps;

    @Option(names = "--out", defaultValue = "sweep-out", description = "output folder (sweep.csv is appended to)")
    Path out;

    @Option(names = "--device", description = "device name for the CSV (default: from nvidia-smi)")
    String device;

    @Option(names = "--timeout-s", defaultValue = "3600", description = "bound on each link setting's launch")
    long timeoutSeconds;

    @Option(names = "--dry-run", description = "print the rows with the simulator's prediction and run nothing")
    boolean dryRun;

    @Spec
    CommandSpec spec;

    private final PrintStream console;

    /** A command that prints to standard output; picocli fills its options. */
    public SweepCommand() {
        this(System.out);
    }

    /**
     * A command that has not parsed its options yet; picocli fills them.
     *
     * @param console where progress, the dry run and the summary go
     */
    public SweepCommand(PrintStream console) {
        this.console = console;
    }

    /**
     * The configuration the options describe.
     *
     * @return the sweep, with a {@code +fp8} copy of each emulated link setting when {@code --fp8} is given
     */
    public SweepPlan.Config config() {
        Topology topo = SweepRank.topology(topology);
        List<SweepPlan.LinkSetting> settings = new ArrayList<>(SweepPlan.LinkSetting.parseList(links));
        if (fp8) {
            for (SweepPlan.LinkSetting l : List.copyOf(settings)) {
                if (l.emulated() && l.compression() == LinkCompression.NONE) {
                    settings.add(new SweepPlan.LinkSetting(l.spec() + SweepPlan.LinkSetting.FP8));
                }
            }
        }
        return new SweepPlan.Config(topo, settings,
                seqLens == null ? SweepPlan.Config.defaultSeqLens(topo) : seqLens, headDims, batches, heads, methods);
    }

    @Override
    public Integer call() throws IOException {
        SweepPlan.Config c = config();
        if (warmup < 0 || reps <= 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--warmup " + warmup + " --reps " + reps
                    + " (rule: warmup >= 0, reps > 0)");
        }
        List<SweepPlan.Row> rows = SweepPlan.rows(c);
        if (dryRun) {
            printDryRun(c, rows);
            return 0;
        }
        Files.createDirectories(out);
        String dev = device != null ? device : deviceName();
        // The command as the CSV's command column records it.
        String commandLine = "streamfusion sweep " + String.join(" ", spec.commandLine().getParseResult().originalArgs());
        String date = Instant.now().toString();
        Map<SweepPlan.LinkSetting, List<SweepPlan.Row>> byLink = new LinkedHashMap<>();
        rows.forEach(r -> byLink.computeIfAbsent(r.link(), k -> new ArrayList<>()).add(r));
        int failures = 0;
        for (Map.Entry<SweepPlan.LinkSetting, List<SweepPlan.Row>> group : byLink.entrySet()) {
            failures += runGroup(c.topology(), group.getKey(), group.getValue(), dev, date, commandLine) ? 0 : 1;
        }
        console.printf(Locale.ROOT, "sweep: %d rows, %d of %d link settings failed; results in %s%n", rows.size(), failures,
                byLink.size(), out.resolve("sweep.csv"));
        return failures == 0 ? 0 : 1;
    }

    private boolean runGroup(Topology topo, SweepPlan.LinkSetting link, List<SweepPlan.Row> rows, String dev, String date,
            String commandLine) throws IOException {
        String tag = link.label().replaceAll("[^A-Za-z0-9._-]", "_");
        Path planFile = out.resolve("plan-" + tag + ".tsv");
        Path rankResults = out.resolve("measured-" + tag + ".tsv");
        Files.writeString(planFile, SweepRank.planFile(topo, rows), StandardCharsets.UTF_8);
        Files.deleteIfExists(rankResults);
        List<String> jvmArgs = new ArrayList<>(List.of("--enable-native-access=ALL-UNNAMED", "-Xss2m"));
        if (link.emulated()) {
            jvmArgs.add("-D" + EMULATED_LINK_PROPERTY + "=" + link.linkSpec());
        }
        console.println("sweep: link " + link.label() + ": " + rows.size() + " rows on " + topo.worldSize() + " GPUs");
        Launcher.Options o = new Launcher.Options(topo.worldSize(), 1, 0, "127.0.0.1", 0, Duration.ofSeconds(5), jvmArgs,
                Main.class.getName(), List.of("sweep-rank", "--plan", planFile.toString(), "--results",
                        rankResults.toString(), "--warmup", String.valueOf(warmup), "--reps", String.valueOf(reps)));
        Launcher.Result r = Launcher.run(o, console, Duration.ofSeconds(timeoutSeconds));
        // Whatever rank 0 measured before a failure is kept; rows it did not reach get no line.
        Map<Integer, String[]> measured = new HashMap<>();
        if (Files.exists(rankResults)) {
            for (List<String> f : SweepCsv.records(rankResults, SweepCsv.TSV)) {
                measured.put(Integer.parseInt(f.getFirst()), f.toArray(String[]::new));
            }
        }
        List<SweepCsv.Result> results = new ArrayList<>();
        for (SweepPlan.Row row : rows) {
            String[] f = measured.get(row.index());
            if (f != null) {
                results.add(new SweepCsv.Result(dev, date, commandLine, topo.machines() + "x" + topo.gpusPerMachine(),
                        row.link().label(), row.method().name(), row.mesh(), row.batch(), row.seqLen(), row.heads(),
                        row.headDim(), Double.parseDouble(f[1]), Double.parseDouble(f[2]), Double.parseDouble(f[3]),
                        row.predictedMs()));
            }
        }
        SweepCsv.append(out.resolve("sweep.csv"), results);
        if (r.exitCode() != 0) {
            console.println("sweep: link " + link.label() + " failed (rank " + r.failedRank() + ", exit " + r.exitCode()
                    + ") after " + results.size() + " of " + rows.size() + " rows:\n" + r.failure());
        }
        return r.exitCode() == 0;
    }

    private void printDryRun(SweepPlan.Config c, List<SweepPlan.Row> rows) {
        console.println("sweep --dry-run: " + rows.size() + " rows on logical " + c.topology() + "; each layer simulated"
                + " on " + HardwareProfile.h200() + " with the row's link");
        console.println("PREDICTIONS of the simulator, not measurements:");
        console.printf(Locale.ROOT, "%-12s %-36s %-34s %6s %3s %3s %4s %12s%n", "row", "link", "mesh", "S", "D", "B", "H",
                "predicted ms");
        for (SweepPlan.Row r : rows) {
            console.printf(Locale.ROOT, "%-12s %-36s %-34s %6d %3d %3d %4d %12.3f%n", r.index() + "/" + r.total(),
                    r.link().label(), r.mesh(), r.seqLen(), r.headDim(), r.batch(), r.heads(), r.predictedMs());
        }
    }

    /** {@code 2 x NVIDIA H200} from nvidia-smi, bounded; {@code unknown GPU} when it cannot say. */
    static String deviceName() {
        try {
            Process p = new ProcessBuilder("nvidia-smi", "--query-gpu=name", "--format=csv,noheader")
                    .redirectErrorStream(true).start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "unknown GPU (nvidia-smi timed out)";
            }
            List<String> names = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines()
                    .map(String::trim).filter(s -> !s.isEmpty()).toList();
            return p.exitValue() == 0 && !names.isEmpty() ? names.size() + " x " + names.getFirst() : "unknown GPU";
        } catch (IOException e) {
            return "unknown GPU (" + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown GPU (interrupted)";
        }
    }
}
