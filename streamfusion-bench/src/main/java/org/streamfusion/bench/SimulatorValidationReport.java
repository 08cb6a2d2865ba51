package org.streamfusion.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SequencedMap;
import java.util.concurrent.Callable;
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
        Main.requireJFreeChart("simulator-validation");
        write(measurements, out).forEach(p -> System.out.println("wrote " + p));
        return 0;
    }

    static List<Path> write(Path measurements, Path out) throws IOException {
        List<Map<String, String>> layers = CalibrateCommand.read(measurements).stream()
                .filter(r -> r.get("kind").equals("layer")).toList();
        Files.createDirectories(out);
        HardwareProfile profile = HardwareProfile.h200();
        SequencedMap<String, List<double[]>> points = new LinkedHashMap<>();
        StringBuilder md = new StringBuilder("| shape | topology/method:t/u/r | measured | profile | measured ms |"
                + " simulated ms | error |\n| --- | --- | --- | --- | --- | --- | --- |\n");
        Map<String, List<Double>> errors = new LinkedHashMap<>();
        for (Map<String, String> row : layers) {
            String shape = "S=" + row.get("S") + " H=" + row.get("H");
            double measured = Double.parseDouble(row.get("value"));
            double simulated = CalibrateCommand.predicted(row, profile);
            points.computeIfAbsent(row.get("mesh").split("/", 2)[0] + ", " + shape, k -> new ArrayList<>())
                    .add(new double[] {measured, simulated});
            double error = simulated / measured - 1;
            errors.computeIfAbsent(shape, k -> new ArrayList<>()).add(Math.abs(error));
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %.3f | %.3f | %+.1f%% |%n", shape,
                    row.get("mesh"), row.get("date"), profile.name() + " v" + profile.version(), measured, simulated,
                    error * 100));
        }
        md.append('\n');
        for (var e : errors.entrySet()) {
            double median = LayerTiming.median(e.getValue().stream().mapToDouble(Double::doubleValue).toArray());
            md.append(String.format(Locale.ROOT, "median absolute error at %s: %.1f%% over %d rows%n", e.getKey(),
                    median * 100, e.getValue().size()));
        }
        Path png = out.resolve("simulator-validation.png");
        Charts.scatter(png, SIZE, "Simulated against measured layer time (H200)", "measured ms (median, CUDA events)",
                "simulated ms", points, "simulated = measured");
        Path table = out.resolve("simulator-validation.md");
        Files.writeString(table, md, StandardCharsets.UTF_8);
        return List.of(png, table);
    }
}
