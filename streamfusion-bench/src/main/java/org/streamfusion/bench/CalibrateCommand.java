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
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.streamfusion.AttentionShape;
import org.streamfusion.InterMachineLink;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.Plan;
import org.streamfusion.QkvExchange;
import org.streamfusion.Topology;
import org.streamfusion.sim.HardwareProfile;
import org.streamfusion.sim.Simulator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code streamfusion calibrate MEASUREMENTS.csv [--version N] [--out FILE]}: a hardware profile fitted by least
 * squares to measured rows (docs/simulator.md, "Profiles"), written as a profile file with every constant's source.
 * Rows ({@code kind}): {@code constant} (a value taken as given), {@code kernel} (one attention launch) and
 * {@code rank-kernels} (one rank's kernels with nothing moved): the full-wave tile rate per D, the launch cost and the
 * cost per wave ({@link KernelFit}); {@code all-to-all} (bus bandwidth
 * per mover: time = latency + bytes to the others / rate, a line per mover: {@code nccl} gives NVLink's rate and the
 * two-sided op, {@code nvshmem-sm} the one-sided op, {@code nvshmem-ce} the copy engines' rate), {@code layer}
 * (whole layers on one host: the SM contention and attention's factor in a layer that minimise the
 * squared relative errors of the rows keyed {@value LayerFit#LAYER_FITTED}) and {@code speedup} (published speedups:
 * the SM contention, every other constant given). A fit runs where its rows exist; a constant may not also be fitted.
 */
@Command(name = "calibrate", description = "Fit a hardware profile to measured rows (CSV) by least squares; write it.")
final class CalibrateCommand implements Callable<Integer> {
    static final List<String> HEADER = List.of("kind", "key", "value", "unit", "D", "S", "H", "B", "ranks",
            "bytes_per_rank", "mesh", "date", "command", "source");

    @Parameters(index = "0", paramLabel = "MEASUREMENTS", description = "the measured rows, e.g. docs/results/h200-measurements.csv")
    Path measurements;

    @Option(names = "--version", paramLabel = "N", description = "the profile's version (default: ${DEFAULT-VALUE})")
    int version = 3;

    @Option(names = "--out", paramLabel = "FILE", description = "where the profile file goes (default: standard output)")
    Path out;

    @Override
    public Integer call() throws IOException {
        String text = profileFile(read(measurements), version, measurements.toString());
        if (out == null) {
            System.out.print(text);
        } else {
            Files.writeString(out, text, StandardCharsets.UTF_8);
            System.out.println("calibrate: wrote " + out + " from " + measurements);
        }
        return 0;
    }

    /** The rows of a measurements file, each a map from column to value. */
    static List<Map<String, String>> read(Path file) throws IOException {
        List<List<String>> records = SweepCsv.records(file, SweepCsv.FORMAT);
        if (records.isEmpty() || !records.get(0).equals(HEADER)) {
            throw new InvalidConfigurationException("measurements " + file + " header " + (records.isEmpty() ? "(empty)"
                    : String.join(",", records.get(0))), "the first line is " + String.join(",", HEADER));
        }
        List<Map<String, String>> rows = new ArrayList<>();
        for (List<String> fields : records.subList(1, records.size())) {
            if (fields.size() != HEADER.size()) {
                throw new InvalidConfigurationException("measurements " + file + " record " + fields,
                        HEADER.size() + " fields per record");
            }
            Map<String, String> row = new LinkedHashMap<>();
            for (int i = 0; i < fields.size(); i++) {
                row.put(HEADER.get(i), fields.get(i));
            }
            rows.add(row);
        }
        return rows;
    }

    /**
     * A fit: the profile file, and the factor by which a kernel launch timed alone exceeded the same kernels replayed
     * (a figure of how the kernel rows were measured, not of the GPU: the file states it in a comment).
     */
    record Fitted(String profileFile, double singleLaunchFactor) {
    }

    /** The fitted profile file: every constant, then its source, in the profile file's order. */
    static String profileFile(List<Map<String, String>> rows, int version, String origin) {
        return fit(rows, version, origin).profileFile();
    }

    /** The fit of {@code rows}: the profile file and the single-launch factor. */
    static Fitted fit(List<Map<String, String>> rows, int version, String origin) {
        Map<String, String> value = new TreeMap<>();
        Map<String, String> source = new TreeMap<>();
        for (Map<String, String> r : rows.stream().filter(r -> r.get("kind").equals("constant")).toList()) {
            value.put(r.get("key"), r.get("value"));
            source.put(r.get("key"), r.get("source") + (r.get("date").isEmpty() ? "" : " (" + r.get("date") + ")"));
        }
        value.put("version", Integer.toString(version));
        source.put("version", "streamfusion calibrate " + origin);
        double singleLaunch = KernelFit.fit(rows, value, source);
        refuseFittedConstants(rows, value);
        if (has(rows, "all-to-all")) {
            double[] nccl = line(rows, "nccl");
            double[] sm = line(rows, "nvshmem-sm");
            double[] ce = line(rows, "nvshmem-ce");
            put(value, source, "nvlinkBytesPerSecond", 1 / nccl[1], "the slope of the nccl all-to-all line", rows, "nccl");
            put(value, source, "twoSidedOpSeconds", nccl[0], "the intercept of the nccl all-to-all line", rows, "nccl");
            put(value, source, "oneSidedOpSeconds", sm[0], String.format(Locale.ROOT, "the intercept of the nvshmem-sm"
                    + " put line (its slope, %.1f GB/s, is taken as NVLink's rate)", 1 / sm[1] / 1e9), rows, "nvshmem-sm");
            put(value, source, "copyEngineBytesPerSecond", 1 / ce[1], "the slope of the nvshmem-ce put line", rows,
                    "nvshmem-ce");
        }
        if (has(rows, "layer")) {
            LayerFit.fitLayers(rows, value, source);
        }
        if (has(rows, "speedup")) {
            LayerFit.fitContentionToSpeedups(rows, value, source);
        }
        StringBuilder sb = new StringBuilder("# Hardware profile " + value.get("name") + ", written by streamfusion"
                + " calibrate " + origin + "\n# (docs/simulator.md, \"Profiles\"). Every constant has a KEY.source.\n");
        if (has(rows, "kernel") && has(rows, "rank-kernels")) {
            sb.append(String.format(Locale.ROOT, "# Not a constant: a kernel launch timed alone (the kernel rows) took"
                    + " %s times its kernels' time as replayed (the rank-kernels rows).\n", singleLaunch));
        }
        for (String key : HardwareProfile.FILE_KEYS) {
            sb.append(key).append('=').append(escape(required(value, key))).append('\n');
            sb.append(key).append(".source=").append(escape(required(source, key))).append('\n');
        }
        return new Fitted(sb.toString(), singleLaunch);
    }

    /**
     * What the simulator charges for a {@code rank-kernels}, {@code all-to-all}, {@code layer} or {@code speedup} row
     * on {@code profile}, in the row's unit: a rank's kernels' ms ({@link KernelFit#counted}, priced by
     * {@link org.streamfusion.sim.RankKernels#seconds}), an
     * all-to-all's bus GB/s (the op's fixed cost plus the bytes to the others at the mover's rate: NVLink's for
     * {@code nccl} and {@code nvshmem-sm}, the copy engines' for {@code nvshmem-ce}), a layer's simulated ms on one
     * host ({@link Simulator#onOneHost}), or a speedup ({@link LayerFit#speedup}).
     *
     * @param row     a rank-kernels, all-to-all, layer or speedup row
     * @param profile the profile
     * @return the prediction
     * @throws InvalidConfigurationException for a kernel row (it needs the single-launch factor: the three-argument
     *                                       form) or another kind, or a row whose mesh, shape or methods are refused
     */
    static double predicted(Map<String, String> row, HardwareProfile profile) {
        if (row.get("kind").equals("kernel")) {
            throw new InvalidConfigurationException("a kernel row priced without the single-launch factor",
                    "kernel rows are priced with the factor calibrate fits beside the profile (Fitted)");
        }
        return predicted(row, profile, Double.NaN);
    }

    /**
     * {@link #predicted(Map, HardwareProfile)} for any row: a kernel row (one launch timed alone) is its kernels' time
     * times {@code singleLaunchFactor}.
     */
    static double predicted(Map<String, String> row, HardwareProfile profile, double singleLaunchFactor) {
        switch (row.get("kind")) {
            case "kernel" -> {
                return KernelFit.counted(row, profile.streamingMultiprocessors()).seconds(profile) * singleLaunchFactor
                        * 1e3;
            }
            case "rank-kernels" -> {
                return KernelFit.counted(row, profile.streamingMultiprocessors()).seconds(profile) * 1e3;
            }
            case "all-to-all" -> {
                int ranks = Integer.parseInt(row.get("ranks"));
                double sent = Double.parseDouble(row.get("bytes_per_rank")) * (ranks - 1) / ranks;
                double seconds = switch (row.get("key")) {
                    case "nccl" -> profile.twoSidedOpSeconds() + sent / profile.nvlinkBytesPerSecond();
                    case "nvshmem-sm" -> profile.oneSidedOpSeconds() + sent / profile.nvlinkBytesPerSecond();
                    default -> profile.oneSidedOpSeconds() + sent / profile.copyEngineBytesPerSecond();
                };
                return sent / seconds / 1e9;
            }
            case "layer" -> {
                String[] at = row.get("mesh").split("/", 2);
                Topology topology = Topology.parse(at[0]);
                // Measured before Q, K and V could go in one exchange: the layers as run sent them separately.
                Plan plan = Plan.of(AttentionShape.of(Integer.parseInt(row.get("B")), Integer.parseInt(row.get("S")),
                        Integer.parseInt(row.get("H")), Integer.parseInt(row.get("D"))), MeshOption.mesh(topology, at[1]))
                        .withQkvExchange(QkvExchange.SEPARATE);
                // One host: the "machines" are logical, every transfer moves over NVLink by the GPUs' own movers.
                return Simulator.onOneHost(profile, topology).simulate(plan).totalSeconds() * 1e3;
            }
            case "speedup" -> {
                return LayerFit.speedup(row, profile);
            }
            default -> throw new InvalidConfigurationException("a " + row.get("kind") + " row",
                    "kernel, rank-kernels, all-to-all, layer or speedup");
        }
    }

    /** Least squares {@code seconds = a + b * bytes to the others} over one mover's rows: {@code {a, b}}. */
    private static double[] line(List<Map<String, String>> rows, String mover) {
        List<double[]> points = new ArrayList<>();
        for (Map<String, String> r : rows) {
            if (r.get("kind").equals("all-to-all") && r.get("key").equals(mover)) {
                int ranks = Integer.parseInt(r.get("ranks"));
                double sent = Double.parseDouble(r.get("bytes_per_rank")) * (ranks - 1) / ranks;
                points.add(new double[] {sent, sent / (Double.parseDouble(r.get("value")) * 1e9)});
            }
        }
        double mx = points.stream().mapToDouble(p -> p[0]).average().orElse(Double.NaN);
        double my = points.stream().mapToDouble(p -> p[1]).average().orElse(Double.NaN);
        double sxy = points.stream().mapToDouble(p -> (p[0] - mx) * (p[1] - my)).sum();
        double sxx = points.stream().mapToDouble(p -> (p[0] - mx) * (p[0] - mx)).sum();
        if (points.size() < 2 || !(sxx > 0)) {
            throw new InvalidConfigurationException(points.size() + " all-to-all rows of " + mover,
                    "a line needs rows at two sizes at least");
        }
        return new double[] {my - sxy / sxx * mx, sxy / sxx};
    }

    private static void put(Map<String, String> value, Map<String, String> source, String key, double v, String how,
            List<Map<String, String>> rows, String mover) {
        value.put(key, Double.toString(v));
        List<Map<String, String>> used = rows.stream().filter(r -> r.get("kind").equals("all-to-all")
                && r.get("key").equals(mover)).toList();
        source.put(key, how + ", least squares over " + used.size() + " rows: " + sources(used));
    }

    /** A key given as a constant and fitted too would be silently overwritten, and layer and speedup rows both fit the contention. */
    private static void refuseFittedConstants(List<Map<String, String>> rows, Map<String, String> constants) {
        Map<String, List<String>> fitted = Map.of("all-to-all", List.of("nvlinkBytesPerSecond", "copyEngineBytesPerSecond",
                "twoSidedOpSeconds", "oneSidedOpSeconds"), "layer", List.of("smContention", "attentionLayerFactor"), "speedup", List.of("smContention"));
        for (var kind : fitted.entrySet()) {
            if (has(rows, kind.getKey())) {
                for (String key : kind.getValue()) {
                    if (constants.containsKey(key)) {
                        throw new InvalidConfigurationException("a constant row for " + key + " beside " + kind.getKey()
                                + " rows", "a constant is given or fitted, not both");
                    }
                }
            }
        }
        if (has(rows, "layer") && has(rows, "speedup")) {
            throw new InvalidConfigurationException("layer and speedup rows in one file",
                    "the contention is fitted to measured layers or to published speedups, not both");
        }
    }

    private static boolean has(List<Map<String, String>> rows, String kind) {
        return rows.stream().anyMatch(r -> r.get("kind").equals(kind));
    }

    static String sources(List<Map<String, String>> rows) {
        return String.join("; ", rows.stream().map(r -> r.get("source") + (r.get("date").isEmpty() ? ""
                : " (" + r.get("date") + ")")).distinct().toList());
    }

    static double need(List<?> rows, String what, double v) {
        if (rows.isEmpty() || !Double.isFinite(v)) {
            throw new InvalidConfigurationException("no " + what, "the measurements hold " + what);
        }
        return v;
    }

    static String required(Map<String, String> map, String key) {
        String v = map.get(key);
        if (v == null) {
            throw new InvalidConfigurationException("no value for " + key, "the measurements give " + key
                    + " as a constant row or by the rows that fit it (kernel and rank-kernels rows: the tile rates, launch"
                    + " and wave costs; all-to-all rows: NVLink, the copy engines and the op costs; layer rows: contention"
                    + " and factor; speedup rows:"
                    + " contention)");
        }
        return v;
    }

    static double number(Map<String, String> value, String key) {
        return Double.parseDouble(required(value, key));
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\n", "\\n");
    }
}
