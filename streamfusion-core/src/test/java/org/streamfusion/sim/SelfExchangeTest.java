package org.streamfusion.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.streamfusion.AttentionShape;
import org.streamfusion.DeviceMesh;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;

/**
 * The piece of an exchange that a rank sends to itself meets no peer: it never pays the two-sided op's rendezvous (it
 * pays a launch and a device-memory copy), while a piece to another GPU pays it.
 */
class SelfExchangeTest {
    private static HardwareProfile withTwoSidedOp(double seconds) {
        HardwareProfile p = SimulatorClosedFormTest.testProfile();
        return new HardwareProfile(p.name(), p.version(), p.streamingMultiprocessors(), p.tileFlopsPerSecondD64(),
                p.tileFlopsPerSecondD128(), p.launchSeconds(), p.waveSeconds(), p.memoryBytesPerSecond(),
                p.nvlinkBytesPerSecond(), p.copyEngineBytesPerSecond(), seconds, p.oneSidedOpSeconds(), p.smContention(),
                p.attentionLayerFactor(), p.proxyMessageSeconds(), p.pcieBytesPerSecond(), p.link());
    }

    private static double layer(Topology topology, int t, int u, int r, double twoSidedOp) {
        Plan plan = Plan.of(AttentionShape.of(1, 1024, 4, 64),
                DeviceMesh.of(topology, Method.TORUS_TWO_SIDED, t, u, r));
        return Simulator.of(withTwoSidedOp(twoSidedOp), topology).simulate(plan).totalSeconds();
    }

    @Test
    void aRankExchangingOnlyWithItselfPaysNoRendezvousWhileOneExchangingWithAnotherGpuDoes() {
        Topology one = Topology.of(1, 1);
        assertEquals(layer(one, 1, 1, 1, 30e-6), layer(one, 1, 1, 1, 1.0), 0.0,
                "one GPU's Ulysses step of one: no peer, so the two-sided op's cost never enters");
        Topology two = Topology.of(1, 2);
        double cheap = layer(two, 1, 2, 1, 30e-6);
        double dear = layer(two, 1, 2, 1, 1.0);
        assertTrue(dear - cheap > 0.9, "two GPUs' Ulysses step pays the rendezvous: " + cheap + " s against " + dear);
    }
}
