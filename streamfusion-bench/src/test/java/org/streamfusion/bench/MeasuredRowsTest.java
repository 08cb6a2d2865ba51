package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.streamfusion.sim.HardwareProfile;

/**
 * Every row of docs/results/h200-measurements.csv that the simulator predicts (kernel launches, one rank's kernels with
 * nothing moved, all-to-alls, whole layers) as a test case: what it charges with the shipped {@code h200} profile (fitted on every row: in the fit) and
 * with the profile {@code calibrate} fits without that row (left out), each within the bound of its class that
 * docs/results/planner.md states, and the medians of each class within what that page states.
 */
class MeasuredRowsTest {
    private static final Path MEASUREMENTS = Path.of("..", "docs", "results", "h200-measurements.csv");

    /**
     * A class of rows and what docs/results/planner.md states for it: every row within {@code bound} in the fit and
     * left out, and the medians within {@code median}.
     */
    enum RowClass {
        KERNEL(0.05, 0.03),
        /** One rank's kernels of a plan with nothing moved, on one GPU (the floor check). */
        RANK_KERNELS(0.08, 0.02),
        ALL_TO_ALL(0.10, 0.03),
        SMALL_LAYER(0.60, 0.13),
        FLUX_LAYER(0.06, 0.03),
        /** Layers run before the ring had a communicator of its own: today's code is modelled, so in no fit. */
        ONE_COMMUNICATOR_LAYER(0.35, 0.05),
        /** Every method's schedule on one GPU with groups of one: self-exchanges, no peer; in no fit. */
        ONE_GPU_LAYER(0.12, 0.05);

        final double bound;
        final double median;

        RowClass(double bound, double median) {
            this.bound = bound;
            this.median = median;
        }

        static RowClass of(Map<String, String> row) {
            return switch (row.get("kind")) {
                case "kernel" -> KERNEL;
                case "rank-kernels" -> RANK_KERNELS;
                case "all-to-all" -> ALL_TO_ALL;
                default -> row.get("key").equals("time-one-gpu") ? ONE_GPU_LAYER
                        : !row.get("key").equals(LayerFit.LAYER_FITTED) ? ONE_COMMUNICATOR_LAYER
                        : Integer.parseInt(row.get("S")) < 32768 ? SMALL_LAYER : FLUX_LAYER;
            };
        }
    }

    private static final Map<Map<String, String>, double[]> ERRORS = new ConcurrentHashMap<>();

    static List<Map<String, String>> measured() throws IOException {
        return CalibrateCommand.read(MEASUREMENTS).stream().filter(r -> !r.get("kind").equals("constant")).toList();
    }

    static Stream<Arguments> rows() throws IOException {
        return measured().stream().map(r -> Arguments.of(r.get("kind") + " " + r.get("key") + " D=" + r.get("D") + " S="
                + r.get("S") + (r.get("mesh").isEmpty() ? " bytes=" + r.get("bytes_per_rank") : " " + r.get("mesh")) + " "
                + r.get("value") + " " + r.get("unit") + " (" + r.get("date") + ")", r));
    }

    /**
     * {@code {in the fit, left out}} relative errors of {@code row}: the shipped profile's, and the refit's without it.
     * Each row is refitted once per run (the refits are what takes the time), in parallel.
     */
    static double[] errors(Map<String, String> row) {
        double[] known = ERRORS.get(row);
        if (known != null) {
            return known;
        }
        double measured = Double.parseDouble(row.get("value"));
        if (row.get("kind").equals("layer") && !row.get("key").equals(LayerFit.LAYER_FITTED)) {
            double e = CalibrateCommand.predicted(row, HardwareProfile.h200()) / measured - 1;
            return new double[] {e, e}; // in no fit: leaving it out changes no constant
        }
        try { // outside the map: a refit takes a second, and computeIfAbsent would hold the rows of its bin meanwhile
            List<Map<String, String>> without = new ArrayList<>(CalibrateCommand.read(MEASUREMENTS));
            without.remove(row);
            CalibrateCommand.Fitted refit = CalibrateCommand.fit(without, HardwareProfile.h200().version(),
                    "rows without one");
            Path file = Files.createTempFile("left-out", ".properties");
            try {
                Files.writeString(file, refit.profileFile(), StandardCharsets.UTF_8);
                double[] e = {CalibrateCommand.predicted(row, HardwareProfile.h200(), shipped().singleLaunchFactor())
                        / measured - 1, CalibrateCommand.predicted(row, HardwareProfile.read(file),
                        refit.singleLaunchFactor()) / measured - 1};
                ERRORS.putIfAbsent(row, e);
                return ERRORS.get(row);
            } finally {
                Files.delete(file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The fit of every row: the shipped profile (CalibrateCommandTest holds them equal) and its single-launch factor. */
    private static synchronized CalibrateCommand.Fitted shipped() throws IOException {
        if (shipped == null) {
            shipped = CalibrateCommand.fit(CalibrateCommand.read(MEASUREMENTS), HardwareProfile.h200().version(), "rows");
        }
        return shipped;
    }

    private static CalibrateCommand.Fitted shipped;

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void eachRowIsWithinItsClassBoundInTheFitAndLeftOut(String name, Map<String, String> row) {
        double[] e = errors(row);
        RowClass rowClass = RowClass.of(row);
        String what = String.format(Locale.ROOT, "%s: in the fit %+.1f%%, left out %+.1f%%, bound %.0f%% (%s)", name,
                e[0] * 100, e[1] * 100, rowClass.bound * 100, rowClass);
        System.out.println(what);
        assertTrue(Math.abs(e[0]) <= rowClass.bound && Math.abs(e[1]) <= rowClass.bound, what);
    }

    @Test
    void theMediansPerClassAreWithinWhatTheDocsStateInTheFitAndLeftOut() throws IOException {
        List<Map<String, String>> all = measured();
        all.parallelStream().forEach(MeasuredRowsTest::errors);
        for (RowClass rowClass : RowClass.values()) {
            List<Double> in = new ArrayList<>();
            List<Double> out = new ArrayList<>();
            for (Map<String, String> row : all.stream().filter(r -> RowClass.of(r) == rowClass).toList()) {
                in.add(Math.abs(errors(row)[0]));
                out.add(Math.abs(errors(row)[1]));
            }
            String what = String.format(Locale.ROOT, "%s (%d rows): in the fit median %.1f%% max %.1f%%; left out median"
                    + " %.1f%% max %.1f%%; stated median %.0f%%", rowClass, in.size(), median(in) * 100, max(in) * 100,
                    median(out) * 100, max(out) * 100, rowClass.median * 100);
            System.out.println(what);
            assertTrue(!in.isEmpty() && median(in) <= rowClass.median && median(out) <= rowClass.median, what);
        }
    }

    private static double median(List<Double> v) {
        return LayerTiming.median(v.stream().mapToDouble(Double::doubleValue).toArray());
    }

    private static double max(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).max().orElse(0);
    }
}
