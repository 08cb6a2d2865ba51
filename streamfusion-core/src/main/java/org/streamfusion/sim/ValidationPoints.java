package org.streamfusion.sim;

import java.util.ArrayList;
import java.util.List;
import org.streamfusion.AttentionShape;
import org.streamfusion.DeviceMesh;
import org.streamfusion.InterMachineLink;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.QkvExchange;
import org.streamfusion.Topology;

/**
 * The layer times this project measured that the simulator is validated against (docs/simulator.md,
 * "Validation against measurement"): 4 H200s on one host as a logical 2x2, all links NVLink
 * (docs/results/layers.md, calls of 10:20 and 10:24), every mesh at S=8192 H=8 and at S=65536 H=24, D=128, B=1.
 * Measurements, not fitted values: the simulator's profile is calibrated elsewhere.
 */
public final class ValidationPoints {
    /**
     * One measured layer.
     *
     * @param plan       the layer as run: shape and mesh
     * @param measuredMs its measured time, in milliseconds
     */
    public record Point(Plan plan, double measuredMs) {
    }

    /** method, t, u, r, measured ms at S=8192 H=8, measured ms at S=65536 H=24. */
    private static final Object[][] ONE_HOST_2X2 = {
        {Method.USP, 1, 2, 2, 0.447, 23.40}, {Method.USP, 1, 1, 4, 0.471, 23.03}, {Method.ULYSSES, 1, 4, 1, 0.448, 22.63},
        {Method.RING, 1, 1, 4, 0.430, 24.34}, {Method.TAS, 1, 2, 2, 0.401, 23.21}, {Method.TAS, 1, 4, 1, 0.351, 22.66},
        {Method.TORUS_TWO_SIDED, 2, 1, 2, 0.575, 24.62}, {Method.TORUS_TWO_SIDED, 2, 2, 1, 0.553, 23.11},
        {Method.TORUS_TWO_SIDED, 1, 2, 2, 0.429, 23.44}, {Method.TORUS_TWO_SIDED, 1, 4, 1, 0.335, 23.33},
        {Method.TORUS_TWO_SIDED, 1, 1, 4, 0.444, 23.73}, {Method.STREAMFUSION, 2, 1, 2, 0.497, 23.15},
        {Method.STREAMFUSION, 2, 2, 1, 0.514, 22.25}, {Method.STREAMFUSION, 1, 1, 4, 0.253, 22.46},
        {Method.STREAMFUSION, 1, 2, 2, 0.322, 22.98}, {Method.STREAMFUSION, 1, 4, 1, 0.352, 22.83}};

    private ValidationPoints() {
    }

    /**
     * The one-host 2x2 layers: first every mesh at S=8192 H=8, then every mesh at S=65536 H=24.
     *
     * @return the 32 points, a new list
     */
    public static List<Point> oneHost2x2() {
        List<Point> out = new ArrayList<>();
        Topology topology = Topology.of(2, 2);
        int[][] shapes = {{8192, 8}, {65536, 24}};
        for (int size = 0; size < 2; size++) {
            for (Object[] m : ONE_HOST_2X2) {
                DeviceMesh mesh = DeviceMesh.of(topology, (Method) m[0], (int) m[1], (int) m[2], (int) m[3]);
                // Measured before Q, K, V could go in one exchange: the layers as run sent them separately.
                Plan plan = Plan.of(AttentionShape.of(1, shapes[size][0], shapes[size][1], 128), mesh)
                        .withQkvExchange(QkvExchange.SEPARATE);
                out.add(new Point(plan, (double) m[4 + size]));
            }
        }
        return out;
    }

    /**
     * The profile the one-host points run on: the H200's, with NVLink's rate and no NIC latency as the link.
     *
     * @return the H200 profile with that link
     */
    public static HardwareProfile oneHostProfile() {
        HardwareProfile h = HardwareProfile.h200();
        return h.withLink(new InterMachineLink("nvlink-as-network", h.nvlinkBytesPerSecond(), 0,
                InterMachineLink.Nics.PER_GPU));
    }
}
