package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.streamfusion.sim.HardwareProfile;

/**
 * Every kernel and all-to-all row of docs/results/h200-measurements.csv as a test case: what the simulator charges
 * with the shipped {@code h200} profile (fitted on every row: in the fit) and with the profile fitted without that
 * row (left out), each within the bound docs/results/planner.md states. The layers are validated in
 * {@code SimulatorValidationTest}.
 */
class MeasuredRowsTest {
    private static final Path MEASUREMENTS = Path.of("..", "docs", "results", "h200-measurements.csv");
    /** The bounds per kind: a launch's time, an all-to-all's bus bandwidth. */
    static final double KERNEL_BOUND = 0.03;
    static final double ALL_TO_ALL_BOUND = 0.10;
    /** The left-out medians docs/results/planner.md states: at most these. */
    static final double KERNEL_MEDIAN = 0.01;
    static final double ALL_TO_ALL_MEDIAN = 0.03;

    static Stream<Arguments> rows() throws IOException {
        return CalibrateCommand.read(MEASUREMENTS).stream().filter(r -> r.get("kind").equals("kernel")
                || r.get("kind").equals("all-to-all")).map(r -> Arguments.of(r.get("kind") + " " + r.get("key") + " D="
                + r.get("D") + " S=" + r.get("S") + " bytes=" + r.get("bytes_per_rank") + " " + r.get("value") + " "
                + r.get("unit") + " (" + r.get("date") + ")", r));
    }

    /** {@code {in the fit, left out}} relative errors of {@code row}: the shipped profile's, and the refit's without it. */
    static double[] errors(List<Map<String, String>> all, Map<String, String> row, Path dir) throws IOException {
        List<Map<String, String>> without = new ArrayList<>(all);
        without.remove(row);
        Path file = Files.createTempFile(dir, "left-out", ".properties");
        Files.writeString(file, CalibrateCommand.profileFile(without, 2, "rows without one"), StandardCharsets.UTF_8);
        double measured = Double.parseDouble(row.get("value"));
        return new double[] {CalibrateCommand.predicted(row, HardwareProfile.h200()) / measured - 1,
            CalibrateCommand.predicted(row, HardwareProfile.read(file)) / measured - 1};
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void eachRowIsWithinItsBoundInTheFitAndLeftOut(String name, Map<String, String> row, @TempDir Path dir)
            throws IOException {
        double[] e = errors(CalibrateCommand.read(MEASUREMENTS), row, dir);
        double bound = row.get("kind").equals("kernel") ? KERNEL_BOUND : ALL_TO_ALL_BOUND;
        String what = String.format(Locale.ROOT, "%s %s %s: in the fit %+.1f%%, left out %+.1f%%, bound %.0f%%",
                row.get("kind"), row.get("key"), row.get("value"), e[0] * 100, e[1] * 100, bound * 100);
        System.out.println(what);
        assertTrue(Math.abs(e[0]) <= bound && Math.abs(e[1]) <= bound, what);
    }

    @Test
    void theLeftOutMediansPerKindAreWithinWhatTheDocsState(@TempDir Path dir) throws IOException {
        List<Map<String, String>> all = CalibrateCommand.read(MEASUREMENTS);
        for (String kind : List.of("kernel", "all-to-all")) {
            List<Double> in = new ArrayList<>();
            List<Double> out = new ArrayList<>();
            for (Map<String, String> row : all.stream().filter(r -> r.get("kind").equals(kind)).toList()) {
                double[] e = errors(all, row, dir);
                in.add(Math.abs(e[0]));
                out.add(Math.abs(e[1]));
            }
            System.out.printf(Locale.ROOT, "%s rows (%d): in the fit median %.1f%% max %.1f%%; left out median %.1f%% max"
                    + " %.1f%%%n", kind, in.size(), median(in) * 100, max(in) * 100, median(out) * 100, max(out) * 100);
            double stated = kind.equals("kernel") ? KERNEL_MEDIAN : ALL_TO_ALL_MEDIAN;
            assertTrue(median(out) <= stated, kind + ": left-out median " + median(out) + " above " + stated);
        }
    }

    private static double median(List<Double> v) {
        List<Double> s = v.stream().sorted().toList();
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    private static double max(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).max().orElse(0);
    }
}
