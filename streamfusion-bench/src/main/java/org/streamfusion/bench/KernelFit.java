package org.streamfusion.bench;

import java.util.ArrayList;
import java.util.List;
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
 * from {@code kernel} rows (one attention launch alone) and {@code rank-kernels} rows (one rank's kernels of a plan
 * with nothing moved: the one-GPU floor check). Each row's kernels are counted once ({@link RankKernels}); its time is
 * linear in the constants ({@code launches*launch + waves*wave + flops/rate + bytes/memory}), so the constants that
 * minimise the rows' squared relative errors solve one small linear system. A constant given as a row is not fitted.
 */
final class KernelFit {
    private KernelFit() {
    }

    /** The fitted keys, in the order of the system's unknowns (a rate enters as its inverse). */
    static final List<String> KEYS = List.of("tileFlopsPerSecondD64", "tileFlopsPerSecondD128", "launchSeconds",
            "waveSeconds");

    /** The factor of single launches, fitted by a golden section around the linear system where both kinds of rows exist. */
    static final String SINGLE_LAUNCH = "singleLaunchFactor";

    /** Whether {@code row} is one this fit reads. */
    static boolean reads(Map<String, String> row) {
        return row.get("kind").equals("kernel") || row.get("kind").equals("rank-kernels");
    }

    /**
     * Fits the keys of {@link #KEYS} and {@link #SINGLE_LAUNCH} not given in {@code value} to the kernel and
     * rank-kernels rows. A kernel row (one launch timed alone) is priced as {@code singleLaunchFactor} times its kernels'
     * time; the factor is fitted only where rank-kernels rows exist beside kernel rows (else it is 1).
     */
    static void fit(List<Map<String, String>> rows, Map<String, String> value, Map<String, String> source) {
        List<Map<String, String>> used = rows.stream().filter(KernelFit::reads).toList();
        List<Integer> free = new ArrayList<>();
        for (int k = 0; k < KEYS.size(); k++) {
            if (!value.containsKey(KEYS.get(k))) {
                free.add(k);
            }
        }
        if (used.isEmpty() || free.isEmpty() && value.containsKey(SINGLE_LAUNCH)) {
            return;
        }
        int sms = Integer.parseInt(CalibrateCommand.required(value, "streamingMultiprocessors"));
        double memory = CalibrateCommand.number(value, "memoryBytesPerSecond");
        // Row i: measured seconds y, and its time as given part + a . unknowns; relative errors weigh by 1/y.
        double[][] a = new double[used.size()][];
        double[] rest = new double[used.size()];
        double[] y = new double[used.size()];
        boolean[] single = new boolean[used.size()];
        for (int i = 0; i < used.size(); i++) {
            RankKernels counted = counted(used.get(i), sms);
            a[i] = new double[] {counted.headDim() == 64 ? counted.fullWaveFlops() : 0,
                    counted.headDim() == 128 ? counted.fullWaveFlops() : 0, counted.launches(), counted.waves()};
            rest[i] = counted.memoryBytes() / memory;
            y[i] = Double.parseDouble(used.get(i).get("value")) / 1e3;
            single[i] = used.get(i).get("kind").equals("kernel");
            for (int k = 0; k < KEYS.size(); k++) {
                if (!free.contains(k)) {
                    double given = CalibrateCommand.number(value, KEYS.get(k));
                    rest[i] += a[i][k] * (k < 2 ? 1 / given : given);
                }
            }
        }
        boolean bothKinds = used.stream().anyMatch(r -> r.get("kind").equals("kernel"))
                && used.stream().anyMatch(r -> r.get("kind").equals("rank-kernels"));
        double factor = value.containsKey(SINGLE_LAUNCH) ? CalibrateCommand.number(value, SINGLE_LAUNCH)
                : !bothKinds ? 1 : LayerFit.golden(f -> squaredError(a, rest, scaled(y, single, f),
                        solve(a, rest, scaled(y, single, f), free)), 0.8, 1.3, 1e-7);
        double[] x = solve(a, rest, scaled(y, single, factor), free);
        String how = " (least squares of the relative errors of " + used.size() + " kernel and rank-kernels rows, time ="
                + " launches*launchSeconds + waves*waveSeconds + full-wave flops/rate + copied bytes/memory rate, times"
                + " singleLaunchFactor for a single launch): " + CalibrateCommand.sources(used);
        for (int k : free) {
            if (k < 2 && !(x[k] > 0)) {
                throw new InvalidConfigurationException("kernel rows that fit " + KEYS.get(k) + " to 1/" + x[k],
                        "kernel or rank-kernels rows at D=" + (k == 0 ? 64 : 128));
            }
            value.put(KEYS.get(k), Double.toString(k < 2 ? 1 / x[k] : x[k]));
            source.put(KEYS.get(k), switch (k) {
                case 0, 1 -> "the full-wave attention rate";
                case 2 -> "the cost of one kernel launch";
                default -> "the cost of one wave of an attention launch beside its KV tiles";
            } + how);
        }
        if (!value.containsKey(SINGLE_LAUNCH)) {
            value.put(SINGLE_LAUNCH, Double.toString(factor));
            source.put(SINGLE_LAUNCH, bothKinds ? "a single launch timed alone over the same kernels replayed among a"
                    + " rank's kernels (golden section to 1e-7 around the same fit)" + how
                    : "1: no rank-kernels row to compare the single launches with");
        }
    }

    /** {@code y}, the single launches' divided by {@code factor}: their kernels' time if they ran as the others did. */
    private static double[] scaled(double[] y, boolean[] single, double factor) {
        double[] out = y.clone();
        for (int i = 0; i < out.length; i++) {
            out[i] = single[i] ? y[i] / factor : y[i];
        }
        return out;
    }

    private static double squaredError(double[][] a, double[] rest, double[] y, double[] x) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            double predicted = rest[i];
            for (int k = 0; k < x.length; k++) {
                predicted += a[i][k] * x[k];
            }
            sum += (predicted / y[i] - 1) * (predicted / y[i] - 1);
        }
        return sum;
    }

    /** {@link #solveAll}, with a cost that comes out negative set to 0 and the others refitted (it is not a cost). */
    private static double[] solve(double[][] a, double[] rest, double[] y, List<Integer> free) {
        List<Integer> kept = new ArrayList<>(free);
        double[] x = solveAll(a, rest, y, kept);
        for (int k : List.copyOf(kept)) {
            if (k >= 2 && x[k] < 0) {
                kept.remove(Integer.valueOf(k));
                x = solveAll(a, rest, y, kept);
            }
        }
        return x;
    }

    /** A kernel row's one launch, or a rank-kernels row's rank 0 of its plan (B, S, H, D; mesh {@code MxG/METHOD:t/u/r}). */
    static RankKernels counted(Map<String, String> row, int sms) {
        int b = Integer.parseInt(row.get("B"));
        int s = Integer.parseInt(row.get("S"));
        int h = Integer.parseInt(row.get("H"));
        int d = Integer.parseInt(row.get("D"));
        if (row.get("kind").equals("kernel")) {
            long tiles = (long) b * h * ((s + 127) / 128);
            long waves = (tiles + sms - 1) / sms;
            return new RankKernels(d, 1, waves, waves * 4.0 * 128 * ((s + 127) / 128 * 128) * d * sms, 0);
        }
        String[] at = row.get("mesh").split("/", 2);
        Topology topology = Topology.parse(at[0]);
        Plan plan = Plan.of(AttentionShape.of(b, s, h, d), MeshOption.mesh(topology, at[1]));
        return Simulator.of(counting(sms), topology).rankKernels(plan, 0);
    }

    /** A profile for counting kernels: the counts depend on the SM count alone, so every other number is a placeholder. */
    private static HardwareProfile counting(int sms) {
        return new HardwareProfile("counting", 1, sms, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0, 1,
                InterMachineLink.parse("rail-400G"));
    }

    /**
     * The unknowns {@code free} minimising {@code sum_i ((rest_i + a_i . x) / y_i - 1)^2}, the others 0: the normal
     * equations, solved by Gaussian elimination with partial pivoting (at most four unknowns).
     */
    private static double[] solveAll(double[][] a, double[] rest, double[] y, List<Integer> free) {
        int n = free.size();
        double[][] m = new double[n][n + 1];
        for (int i = 0; i < a.length; i++) {
            for (int p = 0; p < n; p++) {
                double ap = a[i][free.get(p)] / y[i];
                for (int q = 0; q < n; q++) {
                    m[p][q] += ap * a[i][free.get(q)] / y[i];
                }
                m[p][n] += ap * (1 - rest[i] / y[i]);
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
                        "rows with different launch and wave counts");
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
