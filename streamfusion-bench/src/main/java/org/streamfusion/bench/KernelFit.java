package org.streamfusion.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.streamfusion.AttentionShape;
import org.streamfusion.InterMachineLink;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.sim.HardwareProfile;
import org.streamfusion.sim.RankKernels;
import org.streamfusion.sim.Simulator;

/**
 * The kernel fit of {@code streamfusion calibrate}: the full-wave tile rate per D, the launch cost and the cost per wave,
 * from {@code kernel} rows (one attention launch timed alone) and {@code rank-kernels} rows (one rank's kernels of a
 * plan with nothing moved, replayed: the one-GPU floor check). Each row's kernels are counted once
 * ({@link RankKernels}); its time is linear in the constants ({@code launches*launch + waves*wave + flops/rate +
 * bytes/memory}), so the constants that minimise the rows' squared relative errors solve one small linear system.
 * A single launch is timed differently from a replay: it is priced as the fitted single-launch factor times its
 * kernels' time, a figure of the measurements rather than of the GPU, so it is not a profile constant. A constant
 * given as a row is not fitted.
 */
final class KernelFit {
    private KernelFit() {
    }

    /** The fitted keys, in the order of the system's unknowns (a rate enters as its inverse). */
    static final List<String> KEYS = List.of("tileFlopsPerSecondD64", "tileFlopsPerSecondD128", "launchSeconds",
            "waveSeconds");

    /** Where the single-launch factor is searched; a minimum at either end is refused. */
    private static final double[] SINGLE_LAUNCH_RANGE = {0.8, 1.3};

    /** Whether {@code row} is one this fit reads. */
    static boolean reads(Map<String, String> row) {
        return row.get("kind").equals("kernel") || row.get("kind").equals("rank-kernels");
    }

    /**
     * Fits the keys of {@link #KEYS} not given in {@code value} to the kernel and rank-kernels rows and returns the
     * single-launch factor (1 unless both kinds of rows exist). Without rank-kernels rows the launch and wave costs are
     * 0 unless given: one launch per row cannot tell them from the rate.
     */
    static double fit(List<Map<String, String>> rows, Map<String, String> value, Map<String, String> source) {
        List<Map<String, String>> used = rows.stream().filter(KernelFit::reads).toList();
        if (used.isEmpty()) {
            return 1;
        }
        // before any row is counted: a rank-kernels row is a simulated layer
        for (Map<String, String> r : used) {
            if (!r.get("D").equals("64") && !r.get("D").equals("128")) {
                throw new InvalidConfigurationException("a " + r.get("kind") + " row at D=" + r.get("D"),
                        "kernel and rank-kernels rows are at D=64 or D=128, the widths a profile holds rates for");
            }
        }
        boolean replayed = used.stream().anyMatch(r -> r.get("kind").equals("rank-kernels"));
        boolean single = used.stream().anyMatch(r -> r.get("kind").equals("kernel"));
        if (!replayed) {
            for (String key : List.of("launchSeconds", "waveSeconds")) {
                if (!value.containsKey(key)) {
                    value.put(key, "0");
                    source.put(key, "0: single launches alone (no rank-kernels rows) do not tell it from the rate");
                }
            }
        }
        List<Integer> free = new ArrayList<>();
        for (int k = 0; k < KEYS.size(); k++) {
            if (!value.containsKey(KEYS.get(k))) {
                free.add(k);
            }
        }
        int sms = Integer.parseInt(CalibrateCommand.required(value, "streamingMultiprocessors"));
        double memory = CalibrateCommand.number(value, "memoryBytesPerSecond");
        Rows system = new Rows(used.size());
        for (int i = 0; i < used.size(); i++) {
            RankKernels counted = counted(used.get(i), sms);
            system.a[i] = new double[] {counted.headDim() == 64 ? counted.fullWaveFlops() : 0,
                    counted.headDim() == 128 ? counted.fullWaveFlops() : 0, counted.launches(), counted.waves()};
            system.rest[i] = counted.memoryBytes() / memory;
            system.y[i] = Double.parseDouble(used.get(i).get("value")) / 1e3;
            system.single[i] = used.get(i).get("kind").equals("kernel");
            for (int k = 0; k < KEYS.size(); k++) {
                if (!free.contains(k)) {
                    double given = CalibrateCommand.number(value, KEYS.get(k));
                    system.rest[i] += system.a[i][k] * (k < 2 ? 1 / given : given);
                }
            }
        }
        for (int k : free) {
            if (k < 2 && used.stream().noneMatch(r -> Integer.parseInt(r.get("D")) == (k == 0 ? 64 : 128))) {
                throw new InvalidConfigurationException("no kernel or rank-kernels rows at D=" + (k == 0 ? 64 : 128),
                        "the measurements hold kernel or rank-kernels rows at D=64 and D=128, or give the rate");
            }
        }
        double factor = 1;
        if (single && replayed) {
            factor = LayerFit.golden(f -> system.squaredError(f, solve(system.scaled(f), free)),
                    SINGLE_LAUNCH_RANGE[0], SINGLE_LAUNCH_RANGE[1], 1e-7);
            if (factor - SINGLE_LAUNCH_RANGE[0] < 1e-6 || SINGLE_LAUNCH_RANGE[1] - factor < 1e-6) {
                throw new InvalidConfigurationException("a single-launch factor of " + factor + " at the end of its"
                        + " search", "single launches take 0.8 to 1.3 times the replayed kernels' time");
            }
        }
        double[] x = solve(system.scaled(factor), free);
        String how = " (least squares of the relative errors of " + used.size() + " kernel and rank-kernels rows, time ="
                + " launches*launchSeconds + waves*waveSeconds + full-wave flops/rate + copied bytes/memory rate, a single"
                + String.format(Locale.ROOT, " launch %.4f times that): ", factor) + CalibrateCommand.sources(used);
        for (int k : free) {
            if (k < 2 && !(x[k] > 0)) {
                throw new InvalidConfigurationException("kernel rows that fit " + KEYS.get(k) + " to 1/" + x[k],
                        "the rows' times grow with their work (a positive rate)");
            }
            value.put(KEYS.get(k), Double.toString(k < 2 ? 1 / x[k] : x[k]));
            source.put(KEYS.get(k), switch (k) {
                case 0, 1 -> "the full-wave attention rate";
                case 2 -> "the cost of one kernel launch";
                default -> "the cost of one wave of an attention launch beside its KV tiles";
            } + how);
        }
        return factor;
    }

    /** A kernel row's one launch, or a rank-kernels row's rank 0 of its plan (B, S, H, D; mesh {@code MxG/METHOD:t/u/r}). */
    static RankKernels counted(Map<String, String> row, int sms) {
        AttentionShape shape = AttentionShape.of(Integer.parseInt(row.get("B")), Integer.parseInt(row.get("S")),
                Integer.parseInt(row.get("H")), Integer.parseInt(row.get("D")));
        if (row.get("kind").equals("kernel")) {
            return RankKernels.oneLaunch(shape, sms);
        }
        String[] at = row.get("mesh").split("/", 2);
        Topology topology = Topology.parse(at[0]);
        return Simulator.of(counting(sms), topology).rankKernels(Plan.of(shape, MeshOption.mesh(topology, at[1])), 0);
    }

    /** A profile for counting kernels: the counts depend on the SM count alone, so every other number is a placeholder. */
    private static HardwareProfile counting(int sms) {
        return new HardwareProfile("counting", 1, sms, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1,
                InterMachineLink.parse("rail-400G"));
    }

    /** The rows as a linear system: row i's time is {@code rest[i] + a[i] . x}, measured {@code y[i]} seconds. */
    record Rows(double[][] a, double[] rest, double[] y, boolean[] single) {
        Rows(int n) {
            this(new double[n][], new double[n], new double[n], new boolean[n]);
        }

        /** The system with the single launches' times divided by {@code factor}: their kernels' time if replayed. */
        Rows scaled(double factor) {
            double[] out = y.clone();
            for (int i = 0; i < out.length; i++) {
                out[i] = single[i] ? y[i] / factor : y[i];
            }
            return new Rows(a, rest, out, single);
        }

        double squaredError(double factor, double[] x) {
            double sum = 0;
            for (int i = 0; i < a.length; i++) {
                double predicted = rest[i];
                for (int k = 0; k < x.length; k++) {
                    predicted += a[i][k] * x[k];
                }
                double error = predicted * (single[i] ? factor : 1) / y[i] - 1;
                sum += error * error;
            }
            return sum;
        }
    }

    /**
     * The unknowns {@code free} minimising the squared relative errors with the costs (launch, wave) at or above 0:
     * every subset of the free costs is fitted with the others at 0, and the best whose costs all come out at or above
     * 0 is kept (two costs: four small systems; a cost below 0 is not a cost).
     */
    static double[] solve(Rows system, List<Integer> free) {
        List<Integer> rates = free.stream().filter(k -> k < 2).toList();
        List<Integer> costs = free.stream().filter(k -> k >= 2).toList();
        double[] best = null;
        double bestError = Double.POSITIVE_INFINITY;
        for (int mask = 0; mask < 1 << costs.size(); mask++) {
            List<Integer> kept = new ArrayList<>(rates);
            for (int c = 0; c < costs.size(); c++) {
                if ((mask & 1 << c) != 0) {
                    kept.add(costs.get(c));
                }
            }
            double[] x = solveAll(system, kept);
            boolean feasible = kept.stream().allMatch(k -> k < 2 || x[k] >= 0);
            double error = system.squaredError(1, x);
            if (feasible && error < bestError) {
                best = x;
                bestError = error;
            }
        }
        return best;
    }

    /**
     * The unknowns {@code free} minimising {@code sum_i ((rest_i + a_i . x) / y_i - 1)^2}, the others 0: the normal
     * equations, solved by Gaussian elimination with partial pivoting (at most four unknowns).
     */
    private static double[] solveAll(Rows s, List<Integer> free) {
        int n = free.size();
        double[][] m = new double[n][n + 1];
        for (int i = 0; i < s.a.length; i++) {
            for (int p = 0; p < n; p++) {
                double ap = s.a[i][free.get(p)] / s.y[i];
                for (int q = 0; q < n; q++) {
                    m[p][q] += ap * s.a[i][free.get(q)] / s.y[i];
                }
                m[p][n] += ap * (1 - s.rest[i] / s.y[i]);
            }
        }
        // Columns scaled to their diagonal: a flop's seconds and a launch's differ by twelve orders of magnitude.
        double[] scale = new double[n];
        for (int p = 0; p < n; p++) {
            scale[p] = m[p][p] > 0 ? 1 / Math.sqrt(m[p][p]) : 1;
        }
        for (int p = 0; p < n; p++) {
            for (int q = 0; q < n; q++) {
                m[p][q] *= scale[p] * scale[q];
            }
            m[p][n] *= scale[p];
        }
        for (int col = 0; col < n; col++) {
            int pivot = col;
            for (int r = col + 1; r < n; r++) {
                if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) {
                    pivot = r;
                }
            }
            double[] t = m[col];
            m[col] = m[pivot];
            m[pivot] = t;
            if (Math.abs(m[col][col]) < 1e-12) {
                throw new InvalidConfigurationException("kernel rows that do not determine " + KEYS.get(free.get(col)),
                        "rows whose launch and wave counts differ beside their work (rank-kernels rows of several meshes)");
            }
            for (int r = 0; r < n; r++) {
                if (r != col) {
                    double f = m[r][col] / m[col][col];
                    for (int c = col; c <= n; c++) {
                        m[r][c] -= f * m[col][c];
                    }
                }
            }
        }
        double[] x = new double[KEYS.size()];
        for (int p = 0; p < n; p++) {
            x[free.get(p)] = m[p][n] / m[p][p] * scale[p];
        }
        return x;
    }
}
