package org.streamfusion.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SequencedMap;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code streamfusion sweep-report CSV OUTDIR}: from a sweep's CSV, a markdown table ({@code sweep.md})
 * and PNG plots drawn headless with JFreeChart: latency normalised to USP at its best mesh per (link, S,
 * D, B) for each method at its best mesh, as the paper plots it ({@code normalised-LINK.png}), and
 * measured against the simulator's prediction ({@code measured-vs-predicted.png}). CPU only.
 */
@Command(name = "sweep-report", aliases = "report", description = "Markdown table and PNG plots of a sweep's CSV.")
public final class SweepReport implements Callable<Integer> {
    /** A command whose options picocli fills. */
    public SweepReport() {
    }

    /** Width of each {@code normalised-LINK.png}, in pixels. */
    public static final int NORMALISED_WIDTH = 1200;
    /** Height of each {@code normalised-LINK.png}, in pixels. */
    public static final int NORMALISED_HEIGHT = 600;
    /** Width and height of {@code measured-vs-predicted.png}, in pixels. */
    public static final int SCATTER_SIZE = 800;

    @Parameters(index = "0", description = "the sweep's CSV")
    Path csv;

    @Parameters(index = "1", description = "output folder")
    Path outDir;

    /** One (link, S, D, B): each method's fastest mesh, and USP's fastest as the reference. */
    record Group(String link, int seqLen, int headDim, int batch, Map<String, SweepCsv.Result> bestByMethod) {
        String category() {
            return "S=" + seqLen + " D=" + headDim + " B=" + batch;
        }

        Optional<Double> uspMs() {
            return Optional.ofNullable(bestByMethod.get("USP")).map(SweepCsv.Result::medianMs);
        }
    }

    @Override
    public Integer call() throws IOException {
        Main.requireJFreeChart("sweep-report");
        write(SweepCsv.read(csv), outDir);
        return 0;
    }

    /**
     * Writes {@code sweep.md} and the PNGs; returns the files written.
     *
     * @param rows   the sweep's results, at least one
     * @param outDir the output folder, created if missing
     * @return {@code sweep.md}, one {@code normalised-LINK.png} per link, then
     *         {@code measured-vs-predicted.png}
     * @throws IOException              if a file cannot be written
     * @throws IllegalArgumentException if {@code rows} is empty
     */
    public static List<Path> write(List<SweepCsv.Result> rows, Path outDir) throws IOException {
        if (rows.isEmpty()) {
            throw new IllegalArgumentException("the sweep CSV has no rows (rule: at least one measurement to report)");
        }
        Files.createDirectories(outDir);
        List<Group> groups = groups(rows);
        List<Path> written = new ArrayList<>();
        Path md = outDir.resolve("sweep.md");
        Files.writeString(md, markdown(rows, groups), StandardCharsets.UTF_8);
        written.add(md);
        for (String link : new LinkedHashSet<>(groups.stream().map(Group::link).toList())) {
            List<Charts.Bar> bars = new ArrayList<>();
            for (Group g : groups) {
                if (g.link().equals(link) && g.uspMs().isPresent()) {
                    g.bestByMethod().forEach((m, r) -> bars.add(new Charts.Bar(m, g.category(),
                            r.medianMs() / g.uspMs().get())));
                }
            }
            Path png = outDir.resolve("normalised-" + link.replaceAll("[^A-Za-z0-9._-]", "_") + ".png");
            Charts.bars(png, NORMALISED_WIDTH, NORMALISED_HEIGHT, "Latency normalised to USP at its best mesh, link "
                    + link, "shape", "time / USP time (lower is faster)", bars);
            written.add(png);
        }
        written.add(scatter(rows, outDir.resolve("measured-vs-predicted.png")));
        return written;
    }

    private static Path scatter(List<SweepCsv.Result> rows, Path png) throws IOException {
        SequencedMap<String, List<double[]>> byLink = new LinkedHashMap<>();
        for (SweepCsv.Result r : rows) {
            if (r.medianMs() > 0 && r.predictedMs() > 0) {
                byLink.computeIfAbsent(r.link(), l -> new ArrayList<>()).add(new double[] {r.predictedMs(), r.medianMs()});
            }
        }
        Charts.scatter(png, SCATTER_SIZE, "Measured against the simulator's prediction", "predicted ms",
                "measured ms (median)", byLink, "measured = predicted");
        return png;
    }

    static List<Group> groups(List<SweepCsv.Result> rows) {
        Map<String, Group> groups = new LinkedHashMap<>();
        for (SweepCsv.Result r : rows) {
            String key = r.link() + "|" + r.seqLen() + "|" + r.headDim() + "|" + r.batch();
            Group g = groups.computeIfAbsent(key, k -> new Group(r.link(), r.seqLen(), r.headDim(), r.batch(),
                    new LinkedHashMap<>()));
            g.bestByMethod().merge(r.method(), r, (a, b) -> a.medianMs() <= b.medianMs() ? a : b);
        }
        return new ArrayList<>(groups.values());
    }

    static String markdown(List<SweepCsv.Result> rows, List<Group> groups) {
        StringBuilder sb = new StringBuilder("# Layerwise sweep\n\n");
        sb.append("Device: ").append(String.join("; ", distinct(rows, SweepCsv.Result::device))).append(". Date: ")
                .append(String.join("; ", distinct(rows, SweepCsv.Result::date))).append(". Topology: ")
                .append(String.join("; ", distinct(rows, SweepCsv.Result::topology))).append(".\nCommand: `")
                .append(String.join("`; `", distinct(rows, SweepCsv.Result::command))).append("`\n\n");
        sb.append("Each method at its fastest mesh per (link, S, D, B); ms = median layer time (CUDA events, rank 0), ")
                .append("p10-p90 in brackets; vs USP = time / USP's time at its fastest mesh (lower is faster); ")
                .append("predicted = the layer simulated on the H200 profile with the row's link (docs/simulator.md).\n\n");
        sb.append("| link | S | D | B | method | mesh | ms | p10-p90 | predicted ms | vs USP |\n");
        sb.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        for (Group g : groups) {
            List<SweepCsv.Result> best = new ArrayList<>(g.bestByMethod().values());
            best.sort(Comparator.comparingDouble(SweepCsv.Result::medianMs));
            for (SweepCsv.Result r : best) {
                sb.append(String.format(Locale.ROOT, "| %s | %d | %d | %d | %s | %s | %.3f | %.3f-%.3f | %.3f | %s |%n", g.link(),
                        g.seqLen(), g.headDim(), g.batch(), r.method(), r.mesh(), r.medianMs(), r.p10Ms(), r.p90Ms(),
                        r.predictedMs(), g.uspMs().map(u -> String.format(Locale.ROOT, "%.2f", r.medianMs() / u)).orElse("no USP row")));
            }
        }
        return sb.toString();
    }

    private static List<String> distinct(List<SweepCsv.Result> rows, Function<SweepCsv.Result, String> f) {
        return List.copyOf(new LinkedHashSet<>(rows.stream().map(f).toList()));
    }
}
