package org.streamfusion.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.streamfusion.AttentionShape;
import org.streamfusion.planning.CostModel;
import org.streamfusion.planning.Planner;
import org.streamfusion.DeviceMesh;
import org.streamfusion.InterMachineLink;
import org.streamfusion.spi.Fp8Layout;
import org.streamfusion.LinkCompression;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;

/**
 * Inter-machine FP8 under the simulator and the cost model: the wires' real sizes reach the link model, so
 * on a link slow enough to dominate the layer, the machine-crossing transfer time falls by the wire's ratio
 * {@code (1 + 4/D)/2} against bf16, less what does not shrink; and every mesh that can carry FP8 simulates.
 */
class SimulatedFp8Test {
    /** Ulysses over two machines on 12.5 GB/s: its all-to-alls are the layer. */
    @Test
    void onASlowLinkFp8CutsUlyssesExposedTransferTimeByTheWireRatio() {
        Topology topology = Topology.of(2, 1);
        HardwareProfile profile = HardwareProfile.h200().withLink(InterMachineLink.parse("eth-100G"));
        Simulator sim = Simulator.of(profile, topology);
        for (int d : new int[] {64, 128}) {
            AttentionShape shape = AttentionShape.of(1, 16384, 24, d);
            Plan exact = Plan.of(shape, DeviceMesh.of(topology, Method.ULYSSES, 1, 2, 1));
            SimulatedTime a = sim.simulate(exact);
            SimulatedTime b = sim.simulate(exact.withInterMachine(LinkCompression.FP8_E4M3));
            double ratio = b.exposedCommunicationSeconds() / a.exposedCommunicationSeconds();
            double wire = (1 + 4.0 / d + 2.0 / Fp8Layout.BLOCKS_PER_SLOT) / 2;
            System.out.printf("simulated ULYSSES(u=2) 2x1 eth-100G D=%d: %.3f ms exact, %.3f ms fp8, exposed %.3f -> %.3f"
                    + " ms (%.3f; wire %.3f)%n", d, a.totalSeconds() * 1e3, b.totalSeconds() * 1e3,
                    a.exposedCommunicationSeconds() * 1e3, b.exposedCommunicationSeconds() * 1e3, ratio, wire);
            // The bytes shrink by the wire ratio; per-message latency, op costs and the quantize kernels do not.
            assertTrue(ratio >= wire && ratio <= wire + 0.08, "D=" + d + ": exposed transfer time ratio " + ratio
                    + " outside [" + wire + ", " + (wire + 0.08) + "]");
            assertTrue(b.totalSeconds() < a.totalSeconds(), "D=" + d + ": FP8 must be faster on 12.5 GB/s");
        }
    }

    @Test
    void theCostModelCountsOnePlusFourOverDPlusTheBf16SlotsBytesPerInterMachineElement() {
        Topology topology = Topology.of(2, 1);
        AttentionShape shape = AttentionShape.of(1, 16384, 24, 128);
        Plan exact = Plan.of(shape, DeviceMesh.of(topology, Method.ULYSSES, 1, 2, 1));
        CostModel model = CostModel.h200(InterMachineLink.parse("eth-100G"));
        long bytesExact = model.estimate(exact).interBytes();
        long bytesFp8 = model.estimate(exact.withInterMachine(LinkCompression.FP8_E4M3)).interBytes();
        assertEquals(bytesExact * (1 + 4.0 / 128 + 2.0 / Fp8Layout.BLOCKS_PER_SLOT) / 2, bytesFp8, 1.0);
    }

    @Test
    void everyMeshThatCanCarryFp8SimulatesAndTheOthersAreListedWithTheRule() {
        Topology topology = Topology.of(4, 2);
        Planner planner = Planner.of(HardwareProfile.h200());
        AttentionShape shape = AttentionShape.of(1, 8192, 48, 128);
        int simulated = 0;
        int refused = 0;
        for (Planner.Candidate r : planner.enumerate(shape, topology, LinkCompression.FP8_E4M3)) {
            if (r.valid()) {
                assertEquals(LinkCompression.FP8_E4M3, r.time().plan().interMachine(), r.degrees());
                simulated++;
            } else if (r.invalidReason().contains("t = M")) {
                assertEquals(Method.STREAMFUSION, r.method());
                refused++;
            }
        }
        assertTrue(simulated > 10 && refused > 0, simulated + " simulated, " + refused + " refused");
        assertTrue(planner.explain(shape, topology, LinkCompression.FP8_E4M3).contains("inter-machine transfers FP8_E4M3"));
    }
}
