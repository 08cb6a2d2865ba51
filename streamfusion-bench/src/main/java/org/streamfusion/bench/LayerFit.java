package org.streamfusion.bench;

import java.util.List;
import java.util.Map;
import java.util.function.DoubleUnaryOperator;
import org.streamfusion.AttentionShape;
import org.streamfusion.InterMachineLink;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.Method;
import org.streamfusion.Topology;
import org.streamfusion.planning.Planner;
import org.streamfusion.sim.HardwareProfile;
import org.streamfusion.sim.Simulator;

/**
 * The fits of {@code streamfusion calibrate} that simulate: the layer constants (SM contention, the factor of attention
 * inside a layer) from measured {@code layer} rows, and, for a profile of published figures, the SM
 * contention from published {@code speedup} rows (one method's best mesh over another's, simulated by the planner).
 */
final class LayerFit {
    private LayerFit() {
    }

    /**
     * The key of the layer rows the fit uses; a layer row with another key (such as {@code time-one-communicator}, a
     * layer run by code that differs from what the simulator models) is validated, not fitted.
     */
    static final String LAYER_FITTED = "time";

    /** Coordinate sweeps of the layer fit: each of its constants in turn, given the others. */
    static final int SWEEPS = 5;

    /**
     * The SM contention and the factor of attention inside a layer that minimise the layer rows' squared relative
     * errors, every kernel constant given (the launch and wave costs come from the kernel fit, {@link KernelFit}):
     * coordinate descent, each a golden section given the other (contention on [0, 0.9] to 1e-3, the factor on
     * [0.8, 1.25] to 1e-4), from 0 and 1.
     */
    static void fitLayers(List<Map<String, String>> rows, Map<String, String> value, Map<String, String> source) {
        List<Map<String, String>> layers = rows.stream().filter(r -> r.get("kind").equals("layer")
                && r.get("key").equals(LAYER_FITTED)).toList();
        CalibrateCommand.need(layers, "layer rows keyed " + LAYER_FITTED, 0);
        double[] x = {0, 1};
        for (int sweep = 0; sweep < SWEEPS; sweep++) {
            x[0] = golden(v -> squaredError(layers, profile(value, v, x[1])), 0, 0.9, 1e-3);
            x[1] = golden(v -> squaredError(layers, profile(value, x[0], v)), 0.8, 1.25, 1e-4);
        }
        String fit = " (contention and factor together minimise the squared relative errors of " + layers.size()
                + " layer rows keyed " + LAYER_FITTED + ", simulated on one host with the other constants; " + SWEEPS
                + " coordinate sweeps of golden sections): " + CalibrateCommand.sources(layers);
        value.put("smContention", Double.toString(x[0]));
        source.put("smContention", "the share of attention's rate lost beside communication kernels" + fit);
        value.put("attentionLayerFactor", Double.toString(x[1]));
        source.put("attentionLayerFactor", "attention's time in a layer over its time alone" + fit);
    }

    /** The minimum of {@code f} on [lo, hi] by golden section, one new evaluation per step, to a bracket under {@code tolerance}. */
    static double golden(DoubleUnaryOperator f, double lo, double hi, double tolerance) {
        double golden = (Math.sqrt(5) - 1) / 2;
        double a = hi - golden * (hi - lo);
        double b = lo + golden * (hi - lo);
        double fa = f.applyAsDouble(a);
        double fb = f.applyAsDouble(b);
        while (hi - lo > tolerance) {
            if (fa <= fb) {
                hi = b;
                b = a;
                fb = fa;
                a = hi - golden * (hi - lo);
                fa = f.applyAsDouble(a);
            } else {
                lo = a;
                a = b;
                fa = fb;
                b = lo + golden * (hi - lo);
                fb = f.applyAsDouble(b);
            }
        }
        return (lo + hi) / 2;
    }

    /** The profile of the constants in {@code value} with these two layer constants. */
    static HardwareProfile profile(Map<String, String> value, double contention, double factor) {
        return new HardwareProfile(value.get("name"), 1, Integer.parseInt(value.get("streamingMultiprocessors")),
                CalibrateCommand.number(value, "tileFlopsPerSecondD64"), CalibrateCommand.number(value,
                "tileFlopsPerSecondD128"), CalibrateCommand.number(value, "launchSeconds"), CalibrateCommand.number(value,
                "waveSeconds"), CalibrateCommand.number(value, "memoryBytesPerSecond"),
                CalibrateCommand.number(value, "nvlinkBytesPerSecond"), CalibrateCommand.number(value,
                "copyEngineBytesPerSecond"), CalibrateCommand.number(value, "twoSidedOpSeconds"),
                CalibrateCommand.number(value, "oneSidedOpSeconds"), contention, factor,
                CalibrateCommand.number(value, "proxyMessageSeconds"), CalibrateCommand.number(value, "pcieBytesPerSecond"),
                InterMachineLink.parse(CalibrateCommand.required(value, "link")));
    }

    /** The sum of the rows' squared relative errors, each row as {@link CalibrateCommand#predicted} charges it. */
    private static double squaredError(List<Map<String, String>> rows, HardwareProfile profile) {
        double sum = 0;
        for (Map<String, String> r : rows) {
            double error = CalibrateCommand.predicted(r, profile) / Double.parseDouble(r.get("value")) - 1;
            sum += error * error;
        }
        return sum;
    }

    /**
     * What the planner's picks give for a {@code speedup} row: the time of the second method's best mesh over the first's
     * (key {@code A/B}), averaged over every cluster ({@code mesh}, {@code ;}-separated) and length ({@code S},
     * {@code ;}-separated) of the row.
     *
     * @param row     a speedup row
     * @param profile the profile to simulate on
     * @return the mean speedup of {@code A} over {@code B}
     */
    static double speedup(Map<String, String> row, HardwareProfile profile) {
        String[] methods = row.get("key").split("/");
        Method faster;
        Method baseline;
        try {
            if (methods.length != 2) {
                throw new IllegalArgumentException("not two methods");
            }
            faster = Method.valueOf(methods[0].trim());
            baseline = Method.valueOf(methods[1].trim());
        } catch (IllegalArgumentException e) {
            throw new InvalidConfigurationException("speedup row key '" + row.get("key") + "'",
                    "METHOD/METHOD, the faster method over the baseline, e.g. STREAMFUSION/USP");
        }
        Planner planner = Planner.of(profile);
        double sum = 0;
        int count = 0;
        for (String cluster : row.get("mesh").split(";")) {
            Topology topology = Topology.parse(cluster);
            Simulator simulator = Simulator.of(profile, topology);
            for (String s : row.get("S").split(";")) {
                AttentionShape shape;
                try {
                    shape = AttentionShape.of(Integer.parseInt(row.get("B")), Integer.parseInt(s.trim()),
                            Integer.parseInt(row.get("H")), Integer.parseInt(row.get("D")));
                } catch (NumberFormatException e) {
                    throw new InvalidConfigurationException("speedup row B=" + row.get("B") + " S=" + row.get("S") + " H="
                            + row.get("H") + " D=" + row.get("D"), "whole numbers, S ;-separated");
                }
                sum += simulator.simulate(planner.best(shape, topology, baseline)).totalSeconds()
                        / simulator.simulate(planner.best(shape, topology, faster)).totalSeconds();
                count++;
            }
        }
        return sum / count;
    }

    /**
     * The SM contention minimising the squared relative errors of the {@code speedup} rows, every other constant
     * given (golden section on [0, 0.9] to 1e-3).
     */
    static void fitContentionToSpeedups(List<Map<String, String>> rows, Map<String, String> value,
            Map<String, String> source) {
        List<Map<String, String>> speedups = rows.stream().filter(r -> r.get("kind").equals("speedup")).toList();
        double factor = CalibrateCommand.number(value, "attentionLayerFactor");
        double contention = golden(c -> squaredError(speedups, profile(value, c, factor)), 0, 0.9, 1e-3);
        value.put("smContention", Double.toString(contention));
        source.put("smContention", "the share of attention's rate lost beside communication kernels that minimises the"
                + " squared relative errors of " + speedups.size() + " published speedups, each method at the planner's"
                + " best mesh (golden section): " + CalibrateCommand.sources(speedups));
    }
}
