package org.streamfusion.sim;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;

/**
 * The H200 profile against every layer time measured in docs/results/layers.md (4 H200s on one host, logical
 * 2x2, all links NVLink: the simulated "inter-machine" link is NVLink's rate), one case per measured row, each
 * within the bound docs/simulator.md states for its size. The profile's launch cost was fitted to one row
 * (ULYSSES(u=4) at S=8192); that row is reported apart from the 31 held out of every fit. No fit here is
 * repeated without a row, so there is no leave-one-out figure.
 */
class SimulatorValidationTest {
    /** The bound per row: at Flux size (S=65536) and for the launch-bound small layer (S=8192). */
    static final double FLUX_BOUND = 0.15;
    static final double SMALL_BOUND = 0.45;
    /** The medians docs/simulator.md states: at most these. */
    static final double FLUX_MEDIAN = 0.065;
    static final double SMALL_MEDIAN = 0.16;

    private static final Simulator SIMULATOR = Simulator.of(ValidationPoints.oneHostProfile(), Topology.of(2, 2));

    static Stream<ValidationPoints.Point> measuredRows() {
        return ValidationPoints.oneHost2x2().stream();
    }

    static boolean fitted(Plan plan) {
        return plan.method() == Method.ULYSSES && plan.shape().seqLen() == 8192;
    }

    static double error(ValidationPoints.Point point) {
        return SIMULATOR.simulate(point.plan()).totalSeconds() * 1e3 / point.measuredMs() - 1;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("measuredRows")
    void eachMeasuredLayerIsSimulatedWithinItsSizesBound(ValidationPoints.Point point) {
        double bound = point.plan().shape().seqLen() == 65536 ? FLUX_BOUND : SMALL_BOUND;
        double error = error(point);
        assertTrue(Math.abs(error) <= bound, String.format(Locale.ROOT, "%s: simulated %+.1f%% off the measured %.3f ms,"
                + " bound %.0f%%", point.plan(), error * 100, point.measuredMs(), bound * 100));
    }

    @Test
    void theMediansPerSizeAreWithinWhatTheDocsStateFittedAndHeldOutApart() {
        for (int seqLen : new int[] {8192, 65536}) {
            List<Double> heldOut = new ArrayList<>();
            for (ValidationPoints.Point p : ValidationPoints.oneHost2x2()) {
                if (p.plan().shape().seqLen() != seqLen) {
                    continue;
                }
                double e = Math.abs(error(p));
                if (fitted(p.plan())) {
                    System.out.printf(Locale.ROOT, "S=%d fitted row %s: |error| %.1f%%%n", seqLen, p.plan().mesh(), e * 100);
                } else {
                    heldOut.add(e);
                }
            }
            heldOut.sort(null);
            int n = heldOut.size();
            double median = n % 2 == 1 ? heldOut.get(n / 2) : (heldOut.get(n / 2 - 1) + heldOut.get(n / 2)) / 2;
            System.out.printf(Locale.ROOT, "S=%d held out (%d rows): median |error| %.1f%%, max %.1f%%%n", seqLen, n,
                    median * 100, heldOut.get(n - 1) * 100);
            assertTrue(median <= (seqLen == 65536 ? FLUX_MEDIAN : SMALL_MEDIAN), "S=" + seqLen + " median " + median);
        }
    }
}
