package org.streamfusion.sim;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.streamfusion.Topology;

/**
 * The H200 profile against every layer time measured in docs/results/layers.md (4 H200s on one host, logical
 * 2x2, all links NVLink: the simulated "inter-machine" link is NVLink's rate). Prints the table that
 * docs/simulator.md reproduces; requires the Flux-sized median error to stay within 10%.
 */
class SimulatorValidationTest {
    @Test
    void simulatedLayerTimesAgainstTheMeasuredOnes() {
        Simulator sim = Simulator.of(ValidationPoints.oneHostProfile(), Topology.of(2, 2));
        List<ValidationPoints.Point> points = ValidationPoints.oneHost2x2();
        int meshes = points.size() / 2;
        List<Double> fluxErrors = new ArrayList<>();
        StringBuilder table = new StringBuilder("| method (mesh) | S=8192 measured | simulated | error | S=65536 measured | simulated | error |\n");
        for (int i = 0; i < meshes; i++) {
            ValidationPoints.Point small = points.get(i);
            ValidationPoints.Point flux = points.get(meshes + i);
            double smallMs = sim.simulate(small.plan()).totalSeconds() * 1e3;
            double fluxMs = sim.simulate(flux.plan()).totalSeconds() * 1e3;
            double smallError = smallMs / small.measuredMs() - 1;
            double fluxError = fluxMs / flux.measuredMs() - 1;
            fluxErrors.add(Math.abs(fluxError));
            table.append(String.format(Locale.ROOT, "| %s | %.3f | %.3f | %+.1f%% | %.2f | %.2f | %+.1f%% |%n",
                    small.plan().mesh().toString().replace(" on 2x2", ""), small.measuredMs(), smallMs, smallError * 100,
                    flux.measuredMs(), fluxMs, fluxError * 100));
        }
        System.out.print(table);
        fluxErrors.sort(null);
        double median = (fluxErrors.get(7) + fluxErrors.get(8)) / 2;
        System.out.printf(Locale.ROOT, "median absolute error, Flux size: %.1f%%%n", median * 100);
        assertTrue(median < 0.10, "median error " + median);
    }
}
