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
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Function;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
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
        System.setProperty("java.awt.headless", "true");
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
            DefaultCategoryDataset data = new DefaultCategoryDataset();
            for (Group g : groups) {
                if (g.link().equals(link) && g.uspMs().isPresent()) {
                    g.bestByMethod().forEach((m, r) -> data.addValue(r.medianMs() / g.uspMs().get(), m, g.category()));
                }
            }
            JFreeChart chart = ChartFactory.createBarChart("Latency normalised to USP at its best mesh, link " + link,
                    "shape", "time / USP time (lower is faster)", data, PlotOrientation.VERTICAL, true, false, false);
            chart.getCategoryPlot().getDomainAxis().setCategoryLabelPositions(CategoryLabelPositions.UP_45);
            Path png = outDir.resolve("normalised-" + link.replaceAll("[^A-Za-z0-9._-]", "_") + ".png");
            ChartUtils.saveChartAsPNG(png.toFile(), chart, NORMALISED_WIDTH, NORMALISED_HEIGHT);
            written.add(png);
        }
        written.add(scatter(rows, outDir.resolve("measured-vs-predicted.png")));
        return written;
    }

    private static Path scatter(List<SweepCsv.Result> rows, Path png) throws IOException {
        XYSeriesCollection data = new XYSeriesCollection();
        Map<String, XYSeries> byLink = new LinkedHashMap<>();
        double lo = Double.MAX_VALUE;
        double hi = 0;
        for (SweepCsv.Result r : rows) {
            if (r.medianMs() > 0 && r.predictedMs() > 0) {
                byLink.computeIfAbsent(r.link(), l -> new XYSeries(l, false, true)).add(r.predictedMs(), r.medianMs());
                lo = Math.min(lo, Math.min(r.predictedMs(), r.medianMs()));
                hi = Math.max(hi, Math.max(r.predictedMs(), r.medianMs()));
            }
        }
        byLink.values().forEach(data::addSeries);
        XYSeries diagonal = new XYSeries("measured = predicted");
        if (hi > 0) {
            diagonal.add(lo, lo);
            diagonal.add(hi, hi);
        }
        data.addSeries(diagonal);
        JFreeChart chart = ChartFactory.createScatterPlot("Measured against the simulator's prediction", "predicted ms",
                "measured ms (median)", data, PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        if (hi > 0) {
            plot.setDomainAxis(new LogAxis("predicted ms"));
            plot.setRangeAxis(new LogAxis("measured ms (median)"));
        }
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(false, true);
        int last = data.getSeriesCount() - 1;
        renderer.setSeriesLinesVisible(last, true);
        renderer.setSeriesShapesVisible(last, false);
        plot.setRenderer(renderer);
        ChartUtils.saveChartAsPNG(png.toFile(), chart, SCATTER_SIZE, SCATTER_SIZE);
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
