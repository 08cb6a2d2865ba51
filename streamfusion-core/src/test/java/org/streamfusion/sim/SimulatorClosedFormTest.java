package org.streamfusion.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.DeviceMesh;
import org.streamfusion.InterMachineLink;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.backend.Stream;

/** Simulated times of hand-checkable cases against their closed forms. */
class SimulatorClosedFormTest {
    static final double EPSILON = 1e-12;
    /** Round numbers: 4 SMs, one 128x128 tile of D=64 in exactly 1 ms per SM. */
    static final double TILE_FLOPS = 4.0 * 128 * 128 * 64;
    static final int SMS = 4;

    static HardwareProfile testProfile(double nvlink, InterMachineLink link) {
        return new HardwareProfile("closed-form", 1, SMS, TILE_FLOPS * SMS / 1e-3, TILE_FLOPS * 2 * SMS / 1e-3, 2e-6, 0, 1e12,
                nvlink, nvlink / 2, 30e-6, 10e-6, 0, 1, 10e-6, 32e9, link);
    }

    static HardwareProfile testProfile() {
        return testProfile(100e9, new InterMachineLink("test-link", 10e9, 5e-6, InterMachineLink.Nics.PER_MACHINE));
    }

    /** Attention of {@code tiles} Q tiles against {@code keyRows} keys at D=64: waves of SMs, 1 ms per 128 keys. */
    static double attention(HardwareProfile p, long tiles, long keyRows) {
        return p.launchSeconds() + Math.ceil((double) tiles / SMS) * (keyRows / 128.0) * 1e-3;
    }

    static double copy(HardwareProfile p, long bytes) {
        return p.launchSeconds() + 2.0 * bytes / p.memoryBytesPerSecond();
    }

    @Test
    void oneRankTakesItsKernelTimesOnly() {
        HardwareProfile p = testProfile();
        AttentionShape shape = AttentionShape.of(1, 1024, 2, 64, DType.BF16);
        Plan plan = Plan.of(shape, DeviceMesh.of(Topology.of(1, 1), Method.ULYSSES, 1, 1, 1));
        SimulatedTime t = Simulator.of(p, Topology.of(1, 1)).simulate(plan);
        long bytes = shape.elements() * 2;
        // 16 Q tiles on 4 SMs: 4 waves of 8 key tiles; K and V are packed in (2 copies); Q is read and O written
        // in place (u = 1).
        double attention = attention(p, 16, 1024);
        assertEquals(0.032 + p.launchSeconds(), attention, EPSILON);
        assertEquals(attention + 2 * copy(p, bytes), t.totalSeconds(), EPSILON);
        assertEquals(attention, t.computeSeconds(), EPSILON);
        assertEquals(2 * copy(p, bytes), t.exposedCommunicationSeconds(), EPSILON);
        assertEquals(0, t.synchronisationSeconds(), EPSILON);
    }

    /** RING r=2 in one machine: packing K and V, then max(first step, the pass of K and V), the second step. */
    @Test
    void twoRankRingIsStartupPlusMaxOfComputeAndTransferPlusTheLastStep() {
        for (double nvlink : new double[] {100e9, 0.05e9}) { // compute-bound, then transfer-bound
            HardwareProfile p = testProfile(nvlink, InterMachineLink.rail400G());
            AttentionShape shape = AttentionShape.of(1, 2048, 2, 64, DType.BF16);
            Plan plan = Plan.of(shape, DeviceMesh.of(Topology.of(1, 2), Method.RING, 1, 1, 2));
            SimulatedTime t = Simulator.of(p, Topology.of(1, 2)).simulate(plan);
            long block = shape.elements() * 2 / 2; // one rank's K (or V): 1024 rows
            double step = attention(p, 16, 1024);
            double pass = p.twoSidedOpSeconds() + 2.0 * block / nvlink; // K then V through one send port
            double startup = 2 * copy(p, block); // K and V packed; Q read and O written in place (u = 1)
            double expected = startup + Math.max(step, pass) + step;
            assertEquals(expected, t.totalSeconds(), EPSILON, "NVLink " + nvlink);
            assertEquals(2 * step, t.computeSeconds(), EPSILON);
            assertEquals(expected - 2 * step, t.exposedCommunicationSeconds(), EPSILON);
        }
    }

    /** A small world driven by hand: streams and communicators of {@code n} simulated ranks. */
    static final class Hand {
        final List<SimStream> streams = new ArrayList<>();
        final List<SimRankDevice> devices = new ArrayList<>();
        final List<Stream> compute = new ArrayList<>();
        final HardwareProfile profile;
        final Topology topology;
        final boolean oneHost;

        Hand(HardwareProfile profile, Topology topology) {
            this(profile, topology, false);
        }

        /** With {@code oneHost}, the machines are logical machines of one host ({@link Simulator#onOneHost}). */
        Hand(HardwareProfile profile, Topology topology, boolean oneHost) {
            this.profile = profile;
            this.topology = topology;
            this.oneHost = oneHost;
            KernelModel model = new KernelModel(profile);
            for (int r = 0; r < topology.worldSize(); r++) {
                SimRankDevice d = new SimRankDevice(r, topology, model, streams, true);
                devices.add(d);
                compute.add(d.newArena().createStream("compute"));
            }
        }

        SimStream stream(int rank) {
            return SimStream.of(compute.get(rank));
        }

        void run() {
            new Engine(profile, new Links(topology, profile, oneHost, Symmetry.NONE), Symmetry.NONE, topology.worldSize(),
                    streams).run();
        }
    }

    @Test
    void aBarrierWaitsForItsSlowestMember() {
        HardwareProfile p = testProfile();
        for (Topology topology : new Topology[] {Topology.of(1, 3), Topology.of(3, 1)}) {
            Hand world = new Hand(p, topology);
            double[] work = {3e-3, 7e-3, 5e-3};
            for (int r = 0; r < 3; r++) {
                world.stream(r).add(Op.kernel(world.stream(r), "work", work[r], true));
                world.devices.get(r).communicator().barrierAll(world.compute.get(r), "barrier");
            }
            world.run();
            // Across machines: two dissemination rounds (ceil(log2 3)) of the link's latency.
            double expected = 7e-3 + (topology.machines() > 1 ? 2 * p.link().latencySeconds() : 0);
            for (int r = 0; r < 3; r++) {
                assertEquals(expected, world.stream(r).free, EPSILON, topology + " rank " + r);
            }
        }
        // On a proxy-driven link each round's message is also handled by a proxy at both ends.
        HardwareProfile proxy = p.withLink(p.link().withProxyDriven(true));
        Hand world = new Hand(proxy, Topology.of(3, 1));
        for (int r = 0; r < 3; r++) {
            world.devices.get(r).communicator().barrierAll(world.compute.get(r), "barrier");
        }
        world.run();
        assertEquals(2 * (proxy.link().latencySeconds() + 2 * proxy.proxyMessageSeconds()), world.stream(0).free, EPSILON);
    }

    /** 8 GPUs send X bytes each to the next machine at once: 8x one transfer through a machine's NIC, 1x with one NIC each. */
    @Test
    void aNicSharedByEightGpusTakesEightTimesAsLong() {
        long bytes = 10_000_000;
        for (InterMachineLink.Nics nics : InterMachineLink.Nics.values()) {
            HardwareProfile p = testProfile(100e9, new InterMachineLink("test", 10e9, 5e-6, nics));
            Hand world = new Hand(p, Topology.of(2, 8));
            for (int r = 0; r < 8; r++) {
                SimStream s = world.stream(r);
                s.add(Op.oneSided(Op.Kind.PUT, s, "put", new int[] {r + 8}, new long[] {bytes}));
            }
            world.run();
            double one = bytes / 10e9;
            double last = 0;
            for (int r = 0; r < 8; r++) {
                last = Math.max(last, world.stream(r).free);
            }
            double expected = p.oneSidedOpSeconds() + (nics == InterMachineLink.Nics.PER_MACHINE ? 8 : 1) * one
                    + p.link().latencySeconds();
            assertEquals(expected, last, EPSILON, nics.toString());
        }
    }

    /** The same with k NICs per machine shared by its 8 GPUs: each NIC carries 8/k of the transfers, one after another. */
    @Test
    void kNicsPerMachineShareItsEightGpusEvenly() {
        long bytes = 10_000_000;
        for (int k : new int[] {1, 2, 4, 8}) {
            HardwareProfile p = testProfile(100e9, InterMachineLink.parse("10,5," + k + "-per-machine"));
            assertEquals(k, p.link().nicsPerMachine());
            Hand world = new Hand(p, Topology.of(2, 8));
            for (int r = 0; r < 8; r++) {
                SimStream s = world.stream(r);
                s.add(Op.oneSided(Op.Kind.PUT, s, "put", new int[] {r + 8}, new long[] {bytes}));
            }
            world.run();
            double last = 0;
            for (int r = 0; r < 8; r++) {
                last = Math.max(last, world.stream(r).free);
            }
            double expected = p.oneSidedOpSeconds() + 8 / k * (bytes / 10e9) + p.link().latencySeconds();
            assertEquals(expected, last, EPSILON, k + " NICs per machine");
        }
    }

    /**
     * A proxy-driven link: one GPU puts X bytes to each of two machines in one op. Its proxy posts the messages one
     * after the other, the bytes move at the lower of the NIC's and PCIe's rates (32 GB/s here), and the receiving
     * proxy spends its own time after the bytes land.
     */
    @Test
    void aProxyDrivenLinkChargesTheProxyAtBothEndsAndMovesAtTheLowerOfNicAndPcie() {
        long bytes = 10_000_000;
        for (double nic : new double[] {2e9, 64e9}) {
            HardwareProfile p = testProfile(100e9, InterMachineLink.parse(nic / 1e9 + ",20,per-gpu,proxy"));
            Hand world = new Hand(p, Topology.of(3, 1));
            SimStream s = world.stream(0);
            s.add(Op.oneSided(Op.Kind.PUT, s, "put", new int[] {1, 2}, new long[] {bytes, bytes}));
            world.run();
            double rate = Math.min(nic, p.pcieBytesPerSecond());
            double expected = p.oneSidedOpSeconds() + p.proxyMessageSeconds() + 2 * bytes / rate
                    + p.link().latencySeconds() + p.proxyMessageSeconds();
            assertEquals(expected, world.stream(0).free, EPSILON, "NIC " + nic + " B/s");
            HardwareProfile direct = p.withLink(p.link().withProxyDriven(false));
            Hand plain = new Hand(direct, Topology.of(3, 1));
            SimStream d = plain.stream(0);
            d.add(Op.oneSided(Op.Kind.PUT, d, "put", new int[] {1, 2}, new long[] {bytes, bytes}));
            plain.run();
            assertEquals(direct.oneSidedOpSeconds() + 2 * bytes / nic + direct.link().latencySeconds(), plain.stream(0).free,
                    EPSILON, "the same link GPU-driven, NIC " + nic + " B/s");
        }
    }

    /** Two GPUs share a proxy-driven NIC per machine: each crosses its own PCIe (32 GB/s), the NIC (100 GB/s) carries both. */
    @Test
    void aProxyDrivenNicPerMachineIsNotCappedByOneGpusPcie() {
        long bytes = 10_000_000;
        HardwareProfile p = testProfile(100e9, InterMachineLink.parse("100,20,per-machine,proxy"));
        Hand world = new Hand(p, Topology.of(2, 2));
        for (int r = 0; r < 2; r++) {
            SimStream s = world.stream(r);
            s.add(Op.oneSided(Op.Kind.PUT, s, "put", new int[] {r + 2}, new long[] {bytes}));
        }
        world.run();
        double expected = p.oneSidedOpSeconds() + p.proxyMessageSeconds() + Math.max(bytes / p.pcieBytesPerSecond(),
                2 * bytes / 100e9) + p.link().latencySeconds() + p.proxyMessageSeconds();
        assertEquals(expected, Math.max(world.stream(0).free, world.stream(1).free), EPSILON);
    }

    @Test
    void aSendWithoutItsReceiveIsADeadlockNamingRankAndStep() {
        Hand world = new Hand(testProfile(), Topology.of(1, 2));
        SimBuffer b = new SimBuffer(16, DType.BF16, false);
        world.devices.get(0).communicator().send(b, 1, world.compute.get(0), "lonely send");
        ScheduleDeadlockException e = assertThrows(ScheduleDeadlockException.class, world::run);
        assertEquals(0, e.rank());
        assertEquals("lonely send", e.step());
    }
}
