package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The one link description: presets, the paper's per-GPU share, parsing and bad values. */
class InterMachineLinkTest {
    @Test
    void thePapersMachineGivesEachOfItsEightGpus6Point25GBPerSecond() {
        InterMachineLink share = InterMachineLink.p4de400G().perGpuShareOf(8);
        assertEquals(6.25e9, share.bytesPerSecond(), 1);
        assertEquals(InterMachineLink.Nics.PER_GPU, share.nics());
        assertEquals(6.25e9, InterMachineLink.p4de400G().perGpuBytesPerSecond(8), 1);
        assertEquals(50e9, InterMachineLink.rail400G().perGpuBytesPerSecond(8), 1);
        assertEquals(50e9, InterMachineLink.rail400G().perGpuShareOf(8).bytesPerSecond(), 1);
    }

    @Test
    void presetsSharesAndCustomLinksParse() {
        assertEquals(InterMachineLink.ethernet100G(), InterMachineLink.parse("ETH-100g"));
        assertEquals(InterMachineLink.p4de400G().perGpuShareOf(8), InterMachineLink.parse("p4de-400G/gpu-of-8"));
        InterMachineLink custom = InterMachineLink.parse("12.5,10,per-gpu");
        assertEquals(12.5e9, custom.bytesPerSecond(), 1);
        assertEquals(10e-6, custom.latencySeconds(), 1e-12);
        assertEquals(InterMachineLink.Nics.PER_GPU, custom.nics());
        assertEquals(0, InterMachineLink.unlimited().messageSeconds(1L << 30));
        assertEquals(5e-6 + 1.0, InterMachineLink.rail400G().messageSeconds(50_000_000_000L), 1e-9);
    }

    @Test
    void anyFormFollowedByProxyIsTheSameLinkProxyDriven() {
        InterMachineLink socket = InterMachineLink.parse("2,20,per-gpu,proxy");
        assertTrue(socket.proxyDriven(), socket.toString());
        assertEquals(2e9, socket.bytesPerSecond(), 1);
        assertEquals(20e-6, socket.latencySeconds(), 1e-12);
        assertTrue(socket.toString().contains("proxy-driven"), socket.toString());
        assertFalse(InterMachineLink.parse("2,20,per-gpu").proxyDriven());
        assertEquals(InterMachineLink.p4de400G().withProxyDriven(true), InterMachineLink.parse("p4de-400G,PROXY"));
        InterMachineLink share = InterMachineLink.parse("p4de-400G/gpu-of-8,proxy");
        assertTrue(share.proxyDriven() && share.nics() == InterMachineLink.Nics.PER_GPU, share.toString());
        assertEquals(InterMachineLink.p4de400G(), InterMachineLink.p4de400G().withProxyDriven(true).withProxyDriven(false));
        assertTrue(socket.withBandwidth(1e9).proxyDriven(), "withBandwidth keeps the proxy");
        assertFalse(socket.withBandwidth(1e9).withProxyDriven(false).name().contains("proxy"),
                socket.withBandwidth(1e9).withProxyDriven(false).name());
        var alone = assertThrows(InvalidConfigurationException.class, () -> InterMachineLink.parse("proxy"));
        assertTrue(alone.rule().contains(",proxy"), alone.getMessage());
    }

    @Test
    void badLinksNameTheValueAndTheRule() {
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class,
                () -> InterMachineLink.parse("fast"));
        assertTrue(e.getMessage().contains("'fast'") && e.getMessage().contains("rail-400G"), e.getMessage());
        e = assertThrows(InvalidConfigurationException.class,
                () -> new InterMachineLink("x", 0, 0, InterMachineLink.Nics.PER_GPU));
        assertTrue(e.getMessage().contains("bytesPerSecond=0.0"), e.getMessage());
        e = assertThrows(InvalidConfigurationException.class,
                () -> new InterMachineLink("x", 1e9, -1, InterMachineLink.Nics.PER_GPU));
        assertTrue(e.getMessage().contains("latencySeconds=-1.0"), e.getMessage());
        assertThrows(InvalidConfigurationException.class, () -> InterMachineLink.rail400G().perGpuShareOf(0));
        e = assertThrows(InvalidConfigurationException.class, () -> InterMachineLink.parse("p4de-400G/gpu-of-abc"));
        assertTrue(e.getMessage().contains("'abc'"), e.getMessage());
    }

    @Test
    void aPerGpuRateForFewerThanOneGpuIsRefusedNotInfinite() {
        for (InterMachineLink link : new InterMachineLink[] {InterMachineLink.p4de400G(), InterMachineLink.rail400G()}) {
            for (int g : new int[] {0, -8}) {
                var e = assertThrows(InvalidConfigurationException.class, () -> link.perGpuBytesPerSecond(g), link + " G=" + g);
                assertTrue(e.getMessage().contains("gpusPerMachine=" + g), e.getMessage());
                assertEquals("at least one GPU", e.rule());
            }
        }
    }

    @Test
    void customFiguresThatBreakALinkRuleKeepThatRuleAndANullSpecIsAConfigurationError() {
        var bandwidth = assertThrows(InvalidConfigurationException.class, () -> InterMachineLink.parse("0,10,per-gpu"));
        assertTrue(bandwidth.getMessage().startsWith("inter-machine link '0,10,per-gpu': ")
                && bandwidth.getMessage().contains("bytesPerSecond=0.0"), bandwidth.getMessage());
        assertEquals("bandwidth > 0 (Infinity for an unlimited link)", bandwidth.rule());
        var latency = assertThrows(InvalidConfigurationException.class, () -> InterMachineLink.parse("12.5,-3,per-machine"));
        assertTrue(latency.getMessage().contains("'12.5,-3,per-machine'") && latency.getMessage().contains("latencySeconds=-3"),
                latency.getMessage());
        assertEquals("0 <= latency < Infinity", latency.rule());
        var form = assertThrows(InvalidConfigurationException.class, () -> InterMachineLink.parse("12.5,10,per-rack"));
        assertTrue(form.rule().contains("GBPS,LATENCY_US,per-gpu|per-machine"), form.getMessage());
        var none = assertThrows(InvalidConfigurationException.class, () -> InterMachineLink.parse(null));
        assertTrue(none.getMessage().startsWith("inter-machine link null") && none.rule().contains("rail-400G"),
                none.getMessage());
    }

    @Test
    void nicsPerMachineAreACountSharedByTheMachinesGpus() {
        InterMachineLink four = InterMachineLink.parse("12.5,10,4-per-machine");
        assertEquals(InterMachineLink.Nics.PER_MACHINE, four.nics());
        assertEquals(4, four.nicsPerMachine());
        assertEquals(12.5e9 / 2, four.perGpuBytesPerSecond(8), 1);
        assertEquals(12.5e9, four.perGpuBytesPerSecond(2), 1);
        assertEquals(List.of(0, 0, 1, 1, 2, 2, 3, 3, 4), List.of(four.nicOf(0, 0, 8), four.nicOf(0, 1, 8), four.nicOf(0, 2, 8),
                four.nicOf(0, 3, 8), four.nicOf(0, 4, 8), four.nicOf(0, 5, 8), four.nicOf(0, 6, 8), four.nicOf(0, 7, 8),
                four.nicOf(1, 0, 8)));
        assertEquals(8, four.nicCount(2, 8));
        assertTrue(four.toString().contains("NIC x4 per machine"), four.toString());
        assertEquals(1, InterMachineLink.p4de400G().nicsPerMachine());
        assertEquals(0, InterMachineLink.rail400G().nicsPerMachine());
        // a 2x1 cluster whose GPUs each have a 2 GB/s link
        assertEquals(2e9, InterMachineLink.parse("2,20,per-gpu").perGpuBytesPerSecond(1), 1);
        InvalidConfigurationException none = assertThrows(InvalidConfigurationException.class,
                () -> new InterMachineLink("x", 1e9, 0, InterMachineLink.Nics.PER_MACHINE, 0));
        assertTrue(none.rule().contains("PER_MACHINE with at least one NIC"), none.getMessage());
    }
}
