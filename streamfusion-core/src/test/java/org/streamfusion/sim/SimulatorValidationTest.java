package org.streamfusion.sim;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.streamfusion.AttentionShape;
import org.streamfusion.DeviceMesh;
import org.streamfusion.InterMachineLink;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;

/**
 * The H200 profile against every layer time measured in docs/gpu-results.md (4 H200s on one host, logical
 * 2x2, all links NVLink: the simulated "inter-machine" link is NVLink's rate). Prints the table that
 * docs/simulator.md reproduces; requires the Flux-sized median error to stay within 10%.
 */
class SimulatorValidationTest {
    /** method, t, u, r, measured ms at S=8192 H=8 (call 10:20), measured ms at S=65536 H=24 (call 10:24). */
    static final Object[][] MEASURED = {
        {Method.USP, 1, 2, 2, 0.447, 23.40}, {Method.USP, 1, 1, 4, 0.471, 23.03}, {Method.ULYSSES, 1, 4, 1, 0.448, 22.63},
        {Method.RING, 1, 1, 4, 0.430, 24.34}, {Method.TAS, 1, 2, 2, 0.401, 23.21}, {Method.TAS, 1, 4, 1, 0.351, 22.66},
        {Method.TORUS_TWO_SIDED, 2, 1, 2, 0.575, 24.62}, {Method.TORUS_TWO_SIDED, 2, 2, 1, 0.553, 23.11},
        {Method.TORUS_TWO_SIDED, 1, 2, 2, 0.429, 23.44}, {Method.TORUS_TWO_SIDED, 1, 4, 1, 0.335, 23.33},
        {Method.TORUS_TWO_SIDED, 1, 1, 4, 0.444, 23.73}, {Method.STREAMFUSION, 2, 1, 2, 0.497, 23.15},
        {Method.STREAMFUSION, 2, 2, 1, 0.514, 22.25}, {Method.STREAMFUSION, 1, 1, 4, 0.253, 22.46},
        {Method.STREAMFUSION, 1, 2, 2, 0.322, 22.98}, {Method.STREAMFUSION, 1, 4, 1, 0.352, 22.83}};

    /** One host's NVLink as the logical machines' link: NVSwitch's send rate per GPU, no NIC latency. */
    static HardwareProfile oneHost() {
        HardwareProfile h = HardwareProfile.h200();
        return h.withLink(new InterMachineLink("nvlink-as-network", h.nvlinkBytesPerSecond(), 0,
                InterMachineLink.Nics.PER_GPU));
    }

    @Test
    void simulatedLayerTimesAgainstTheMeasuredOnes() {
        Simulator sim = Simulator.of(oneHost(), Topology.of(2, 2));
        List<Double> fluxErrors = new ArrayList<>();
        StringBuilder table = new StringBuilder("| method (mesh) | S=8192 measured | simulated | error | S=65536 measured | simulated | error |\n");
        for (Object[] m : MEASURED) {
            DeviceMesh mesh = DeviceMesh.of(Topology.of(2, 2), (Method) m[0], (int) m[1], (int) m[2], (int) m[3]);
            SimulatedTime small = sim.simulate(Plan.of(AttentionShape.of(1, 8192, 8, 128), mesh));
            SimulatedTime flux = sim.simulate(Plan.of(AttentionShape.of(1, 65536, 24, 128), mesh));
            double smallError = small.totalSeconds() * 1e3 / (double) m[4] - 1;
            double fluxError = flux.totalSeconds() * 1e3 / (double) m[5] - 1;
            fluxErrors.add(Math.abs(fluxError));
            table.append(String.format(Locale.ROOT, "| %s | %.3f | %.3f | %+.1f%% | %.2f | %.2f | %+.1f%% |%n",
                    mesh.toString().replace(" on 2x2", ""), (double) m[4], small.totalSeconds() * 1e3, smallError * 100,
                    (double) m[5], flux.totalSeconds() * 1e3, fluxError * 100));
        }
        System.out.print(table);
        fluxErrors.sort(null);
        double median = (fluxErrors.get(7) + fluxErrors.get(8)) / 2;
        System.out.printf(Locale.ROOT, "median absolute error, Flux size: %.1f%%%n", median * 100);
        assertTrue(median < 0.10, "median error " + median);
    }
}
