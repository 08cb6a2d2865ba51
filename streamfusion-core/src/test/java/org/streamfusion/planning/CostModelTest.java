package org.streamfusion.planning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.streamfusion.InterMachineLink;
import org.streamfusion.AttentionShape;
import org.streamfusion.DeviceMesh;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.QkvExchange;
import org.streamfusion.Topology;

/** The link terms of the cost model: NIC sharing, latency per message, the kernel's rate, what explain names. */
class CostModelTest {
    private static final AttentionShape SHAPE = AttentionShape.of(1, 32768, 24, 128);

    private static Plan plan(Topology topo, Method method, int t, int u, int r) {
        return Plan.of(SHAPE, DeviceMesh.of(topo, method, t, u, r));
    }

    @Test
    void aMachineOfGGpusThroughOneNicGivesEachOneGthOfIt() {
        Topology topo = Topology.of(2, 4);
        Plan ring = plan(topo, Method.RING, 1, 1, 8); // ring steps cross machines: all inter bytes overlapped
        InterMachineLink perMachine = new InterMachineLink("m", 10e9, 0, InterMachineLink.Nics.PER_MACHINE);
        InterMachineLink perGpu = new InterMachineLink("g", 10e9, 0, InterMachineLink.Nics.PER_GPU);
        CostModel.Estimate shared = CostModel.h200(perMachine).estimate(ring);
        CostModel.Estimate own = CostModel.h200(perGpu).estimate(ring);
        long inter = shared.interBytes();
        assertTrue(inter > 0);
        // inter-machine bytes dominate the overlapped term at 10 GB/s; intra is the same in both
        double intra = own.overlappedCommSeconds() - inter / 10e9;
        assertEquals(inter / (10e9 / 4), shared.overlappedCommSeconds() - intra, 1e-9);
        assertEquals(4, shared.nicMessages() / own.nicMessages());
    }

    @Test
    void everyInterMachineMessagePaysTheLinksLatency() {
        Topology topo = Topology.of(2, 1);
        Plan ring = plan(topo, Method.RING, 1, 1, 2);
        InterMachineLink fast = new InterMachineLink("l0", Double.POSITIVE_INFINITY, 0, InterMachineLink.Nics.PER_GPU);
        InterMachineLink slow = new InterMachineLink("l1", Double.POSITIVE_INFINITY, 1e-3, InterMachineLink.Nics.PER_GPU);
        CostModel.Estimate a = CostModel.h200(fast).estimate(ring);
        CostModel.Estimate b = CostModel.h200(slow).estimate(ring);
        // one ring step: K and V to the other machine, two messages
        assertEquals(2, b.nicMessages());
        assertEquals(2e-3, b.latencySeconds() - a.latencySeconds(), 1e-12);
        assertEquals(2e-3, b.seconds() - a.seconds(), 1e-12);
    }

    @Test
    void anUnlimitedLinkCostsNoInterMachineTime() {
        Plan tas = plan(Topology.of(2, 2), Method.TAS, 1, 2, 2);
        CostModel.Estimate e = CostModel.h200(InterMachineLink.unlimited()).estimate(tas);
        CostModel.Estimate nvlink = CostModel.h200(InterMachineLink.unlimited()).withLink(
                CostModel.h200(InterMachineLink.unlimited()).sameHostLink()).estimate(tas);
        assertTrue(e.seconds() < nvlink.seconds(), e + " vs " + nvlink);
        assertTrue(e.seconds() > 0);
    }

    @Test
    void stepsCountEachMethodsSequentialCommunication() {
        Topology topo = Topology.of(2, 2);
        // Q, K, V in one grouped exchange (small shards), then O; separately, four
        assertEquals(2, CostModel.steps(plan(topo, Method.ULYSSES, 1, 4, 1)));
        assertEquals(4, CostModel.steps(plan(topo, Method.ULYSSES, 1, 4, 1).withQkvExchange(QkvExchange.SEPARATE)));
        assertEquals(3, CostModel.steps(plan(topo, Method.RING, 1, 1, 4)));
        assertEquals(3, CostModel.steps(plan(topo, Method.USP, 1, 2, 2)));
        // scatter, torus, (2t-1)(r-1) = 3 ring steps, Push O
        assertEquals(6, CostModel.steps(plan(topo, Method.STREAMFUSION, 2, 1, 2)));
        assertEquals(6, CostModel.steps(plan(topo, Method.TORUS_TWO_SIDED, 2, 1, 2)));
        // the scatter of Q, K and V one exchange each
        assertEquals(8, CostModel.steps(plan(topo, Method.TORUS_TWO_SIDED, 2, 1, 2).withQkvExchange(QkvExchange.SEPARATE)));
    }

    @Test
    void theComputeTermUsesTheKernelsRateForTheHeadWidth() {
        CostModel m = CostModel.h200(InterMachineLink.rail400G());
        assertEquals(467.0e12, m.kernel().flopsPerSecond(64, 1e9), 1);
        assertEquals(646.6e12, m.kernel().flopsPerSecond(128, 1e15), 1);
        double mid = m.kernel().flopsPerSecond(128, Math.sqrt(AttentionShape.of(1, 16384, 24, 128).flops()
                * AttentionShape.of(1, 65536, 24, 128).flops()));
        assertEquals((640.4e12 + 646.6e12) / 2, mid, 1e9);
        Plan d64 = Plan.of(AttentionShape.of(1, 32768, 24, 64), DeviceMesh.of(Topology.of(1, 2), Method.ULYSSES, 1, 2, 1));
        Plan d128 = Plan.of(SHAPE, DeviceMesh.of(Topology.of(1, 2), Method.ULYSSES, 1, 2, 1));
        double ratio = m.estimate(d128).computeSeconds() / m.estimate(d64).computeSeconds();
        assertTrue(ratio > 1.3 && ratio < 1.6, "D=128 does twice the FLOPs at a higher rate: " + ratio);
    }

    @Test
    void badParametersAreRejectedByName() {
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class,
                () -> new CostModel("x", 0, InterMachineLink.unlimited(), KernelThroughput.uniform("k", 1e12), 1, 0, 0, 0, 0));
        assertTrue(e.getMessage().contains("intraBytesPerSecond=0"), e.getMessage());
        assertThrows(InvalidConfigurationException.class,
                () -> new CostModel("x", 1e9, InterMachineLink.unlimited(), KernelThroughput.uniform("k", 1e12), 1.5, 0, 0, 0, 0));
    }
}
