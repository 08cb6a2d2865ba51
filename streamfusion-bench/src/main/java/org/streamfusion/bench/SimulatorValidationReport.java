package org.streamfusion.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.streamfusion.sim.HardwareProfile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code streamfusion simulator-validation [--measurements CSV] OUT}: every {@code layer} row of the measurements
 * (default docs/results/h200-measurements.csv) simulated on the shipped {@code h200} profile
 * ({@link CalibrateCommand#predicted}), as {@code OUT/simulator-validation.png} (simulated against measured, log-log,
 * with the diagonal) and {@code OUT/simulator-validation.md} (the table and the median absolute error per size).
 */
@Command(name = "simulator-validation",
        description = "The simulator against every measured layer: a PNG and a table.")
final class SimulatorValidationReport implements Callable<Integer> {
    static final int SIZE = 640;

    @Parameters(paramLabel = "OUT_DIR", description = "output folder, created if missing")
    Path out;

    @Option(names = "--measurements", paramLabel = "CSV", description = "the measured rows (default: ${DEFAULT-VALUE})")
    Path measurements = Path.of("docs", "results", "h200-measurements.csv");

    /**
     * Writes the plot and the table.
     *
     * @return 0
     * @throws IOException if a file cannot be written
     */
    @Override
    public Integer call() throws IOException {
        write(measurements, out).forEach(p -> System.out.println("wrote " + p));
        return 0;
    }

    static List<Path> write(Path measurements, Path out) throws IOException {
        List<Map<String, String>> layers = CalibrateCommand.read(measurements).stream()
                .filter(r -> r.get("kind").equals("layer")).toList();
        Files.createDirectories(out);
        HardwareProfile profile = HardwareProfile.h200();
        XYSeriesCollection data = new XYSeriesCollection();
        StringBuilder md = new StringBuilder("| shape | topology/method:t/u/r | measured | profile | measured ms |"
                + " simulated ms | error |\n| --- | --- | --- | --- | --- | --- | --- |\n");
        double lo = Double.MAX_VALUE;
        double hi = 0;
        Map<String, List<Double>> errors = new LinkedHashMap<>();
        for (Map<String, String> row : layers) {
            String shape = "S=" + row.get("S") + " H=" + row.get("H");
            double measured = Double.parseDouble(row.get("value"));
            double simulated = CalibrateCommand.predicted(row, profile);
            XYSeries series = seriesOf(data, row.get("mesh").split("/", 2)[0] + ", " + shape);
            series.add(measured, simulated);
            lo = Math.min(lo, Math.min(simulated, measured));
            hi = Math.max(hi, Math.max(simulated, measured));
            double error = simulated / measured - 1;
            errors.computeIfAbsent(shape, k -> new ArrayList<>()).add(Math.abs(error));
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %.3f | %.3f | %+.1f%% |%n", shape,
                    row.get("mesh"), row.get("date"), profile.name() + " v" + profile.version(), measured, simulated,
                    error * 100));
        }
        md.append('\n');
        for (var e : errors.entrySet()) {
            List<Double> sorted = e.getValue().stream().sorted().toList();
            int n = sorted.size();
            double median = n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
            md.append(String.format(Locale.ROOT, "median absolute error at %s: %.1f%% over %d rows%n", e.getKey(),
                    median * 100, n));
        }
        XYSeries diagonal = new XYSeries("simulated = measured");
        diagonal.add(lo, lo);
        diagonal.add(hi, hi);
        data.addSeries(diagonal);
        JFreeChart chart = ChartFactory.createScatterPlot("Simulated against measured layer time (H200)",
                "measured ms", "simulated ms", data, PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        plot.setDomainAxis(millisecondAxis("measured ms (median, CUDA events)"));
        plot.setRangeAxis(millisecondAxis("simulated ms"));
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(false, true);
        int last = data.getSeriesCount() - 1;
        renderer.setSeriesLinesVisible(last, true);
        renderer.setSeriesShapesVisible(last, false);
        plot.setRenderer(renderer);
        Path png = out.resolve("simulator-validation.png");
        ChartUtils.saveChartAsPNG(png.toFile(), chart, SIZE, SIZE);
        Path table = out.resolve("simulator-validation.md");
        Files.writeString(table, md, StandardCharsets.UTF_8);
        return List.of(png, table);
    }

    /** A log axis labelled in plain milliseconds (0.25, 1, 20), not powers of ten. */
    private static LogAxis millisecondAxis(String label) {
        LogAxis axis = new LogAxis(label);
        axis.setBase(10);
        axis.setNumberFormatOverride(new DecimalFormat("0.##"));
        return axis;
    }

    private static XYSeries seriesOf(XYSeriesCollection data, String key) {
        for (int i = 0; i < data.getSeriesCount(); i++) {
            if (data.getSeriesKey(i).equals(key)) {
                return data.getSeries(i);
            }
        }
        XYSeries s = new XYSeries(key, false, true);
        data.addSeries(s);
        return s;
    }
}
