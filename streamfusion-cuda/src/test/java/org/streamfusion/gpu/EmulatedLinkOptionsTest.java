package org.streamfusion.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.streamfusion.InterMachineLink;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.Topology;

/** The emulated link's options, which transfers cross machines, how long they hold a NIC and what outputs say; no GPU. */
class EmulatedLinkOptionsTest {
    @Test
    void offByDefaultAndOnlyThroughTheOptionOrTheProperty() {
        assumeTrue(System.getProperty(GpuOptions.EMULATED_LINK_PROPERTY) == null, "emulated link property set for this JVM");
        GpuOptions d = GpuOptions.defaults();
        assertEquals(Optional.empty(), d.emulatedLink());
        GpuOptions on = d.withEmulatedLink(InterMachineLink.rail400G());
        assertEquals(Optional.of(InterMachineLink.rail400G()), on.emulatedLink());
        // Other withers keep it; withoutEmulatedLink drops it.
        assertEquals(on.emulatedLink(), on.withRingLane(false).withMovers(d.pull(), d.push()).emulatedLink());
        assertEquals(d, on.withoutEmulatedLink());
        assertThrows(InvalidConfigurationException.class, () -> d.withEmulatedLink(null));
        assertEquals("streamfusion.emulatedLink", GpuOptions.EMULATED_LINK_PROPERTY);
    }

    @Test
    void aProxyDrivenLinkIsRefusedForEmulationNamingTheRule() {
        GpuOptions d = GpuOptions.defaults().withoutEmulatedLink();
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class,
                () -> d.withEmulatedLink(InterMachineLink.parse("2,20,per-gpu,proxy")));
        assertTrue(e.rule().contains("not proxy-driven"), e.getMessage());
        assertTrue(e.getMessage().contains(",proxy"), e.getMessage());
    }

    @Test
    void thePropertyValueParsesAsAnInterMachineLinkAndBlankMeansOff() {
        assertEquals(Optional.empty(), GpuOptions.emulatedLinkFrom(null));
        assertEquals(Optional.empty(), GpuOptions.emulatedLinkFrom("  "));
        assertEquals(InterMachineLink.p4de400G(), GpuOptions.emulatedLinkFrom("P4DE-400G").orElseThrow());
        InterMachineLink share = GpuOptions.emulatedLinkFrom("p4de-400G/gpu-of-8").orElseThrow();
        assertEquals(6.25e9, share.bytesPerSecond());
        InterMachineLink custom = GpuOptions.emulatedLinkFrom("12.5,10,per-gpu").orElseThrow();
        assertEquals(12.5e9, custom.bytesPerSecond());
        assertEquals(10e-6, custom.latencySeconds(), 1e-12);
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class,
                () -> GpuOptions.emulatedLinkFrom("infiniband"));
        assertTrue(e.getMessage().contains("'infiniband'") && e.getMessage().contains("rail-400G"), e.getMessage());
    }

    @Test
    void onlyTransfersBetweenLogicalMachinesCross() {
        EmulatedLinkModel m = EmulatedLinkModel.of(InterMachineLink.rail400G(), Topology.of(2, 2), 1, false);
        assertFalse(m.crosses(1), "self");
        assertFalse(m.crosses(0), "same machine");
        assertTrue(m.crosses(2));
        assertTrue(m.crosses(3));
        assertThrows(InvalidConfigurationException.class, () -> m.crosses(4));
        assertThrows(InvalidConfigurationException.class,
                () -> EmulatedLinkModel.of(InterMachineLink.rail400G(), Topology.of(2, 1), 2, false));
    }

    @Test
    void aTransferHoldsTheNicForLatencyPerMessagePlusBytesOverBandwidth() {
        EmulatedLinkModel rail = EmulatedLinkModel.of(InterMachineLink.rail400G(), Topology.of(2, 1), 0, false);
        long mib64 = 64L << 20;
        assertEquals(Math.round((5e-6 + mib64 / 50e9) * 1e9), rail.durationNanos(mib64, 1));
        assertEquals(Math.round((3 * 5e-6 + mib64 / 50e9) * 1e9), rail.durationNanos(mib64, 3));
        EmulatedLinkModel unlimited = EmulatedLinkModel.of(InterMachineLink.unlimited(), Topology.of(2, 1), 0, false);
        assertEquals(0, unlimited.durationNanos(1L << 30, 4), "unlimited: no bandwidth cost and no latency");
        assertThrows(InvalidConfigurationException.class, () -> rail.durationNanos(-1, 1));
    }

    @Test
    void aNicPerMachineSharesTheFirstGpusClockOrFallsBackToEachGpusShareAndSaysSo() {
        InterMachineLink p4de = InterMachineLink.p4de400G();
        EmulatedLinkModel shared = EmulatedLinkModel.of(p4de, Topology.of(2, 4), 6, true);
        assertTrue(shared.sharedClock());
        assertEquals(4, shared.clockOwner());
        assertEquals(p4de, shared.effective());
        assertTrue(shared.report().contains("shared by the machine's 4 GPUs"), shared.report());

        EmulatedLinkModel fallback = EmulatedLinkModel.of(p4de, Topology.of(2, 4), 6, false);
        assertFalse(fallback.sharedClock());
        assertEquals(6, fallback.clockOwner());
        assertEquals(12.5e9, fallback.effective().bytesPerSecond());
        assertEquals(InterMachineLink.Nics.PER_GPU, fallback.effective().nics());
        assertTrue(fallback.report().contains("each GPU's share") && fallback.report().contains("NVSHMEM is off"),
                fallback.report());

        // A machine of one GPU has the whole NIC: no sharing needed, nothing to fall back from.
        EmulatedLinkModel single = EmulatedLinkModel.of(p4de, Topology.of(2, 1), 1, false);
        assertEquals(p4de, single.effective());
        assertFalse(EmulatedLinkModel.needsSharedClock(p4de, Topology.of(2, 1)));
        assertFalse(EmulatedLinkModel.needsSharedClock(InterMachineLink.rail400G(), Topology.of(2, 4)));
    }

    @Test
    void theReportNamesTheLinkItsBandwidthLatencyAndClocks() {
        String r = EmulatedLinkModel.of(InterMachineLink.rail400G(), Topology.of(2, 1), 0, false).report();
        assertEquals("emulated inter-machine link rail-400G (50.00GB/s per NIC and direction, 5.0 us per message,"
                + " NIC per GPU); a clock per GPU and direction", r);
    }
}
