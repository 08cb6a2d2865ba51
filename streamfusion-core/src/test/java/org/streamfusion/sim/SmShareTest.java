package org.streamfusion.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.streamfusion.AttentionShape;
import org.streamfusion.DeviceMesh;
import org.streamfusion.InterMachineLink;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;

/**
 * Attention beside communication kernels, against closed forms: on the round numbers of
 * {@link SimulatorClosedFormTest}, a 1 ms attention kernel on rank 0 of 1x2 while rank 0 exchanges bytes with rank 1
 * over NVLink runs at {@code 1 - c} of its rate while the bytes move, so it ends {@code c} times the overlap later.
 */
class SmShareTest {
    static final double EPSILON = 1e-12;
    static final double KERNEL = 1e-3;
    static final long BYTES = 20_000_000; // 200 us at 100 GB/s

    static HardwareProfile withContention(double contention) {
        HardwareProfile p = SimulatorClosedFormTest.testProfile(100e9, InterMachineLink.rail400G());
        return new HardwareProfile(p.name(), p.version(), p.streamingMultiprocessors(), p.tileFlopsPerSecondD64(),
                p.tileFlopsPerSecondD128(), p.launchSeconds(), p.waveSeconds(), p.memoryBytesPerSecond(), p.nvlinkBytesPerSecond(),
                p.copyEngineBytesPerSecond(), p.twoSidedOpSeconds(), p.oneSidedOpSeconds(), contention,
                p.attentionLayerFactor(), p.proxyMessageSeconds(), p.pcieBytesPerSecond(), p.link());
    }

    /** Rank 0 runs {@code before} seconds of non-attention work, then the attention; its other stream exchanges {@code count} times. */
    static double attentionEnd(HardwareProfile p, double before, int count) {
        SimulatorClosedFormTest.Hand world = new SimulatorClosedFormTest.Hand(p, Topology.of(1, 2));
        SimStream compute = world.stream(0);
        if (before > 0) {
            compute.add(Op.kernel(compute, "pack", before, false));
        }
        compute.add(Op.kernel(compute, "attention", KERNEL, true));
        SimStream sender = SimStream.of(world.devices.get(0).newArena().createStream("comm"));
        SimStream receiver = world.stream(1);
        for (int i = 0; i < count; i++) {
            sender.add(Op.exchange(sender, "send " + i, new int[] {1}, new long[] {BYTES}, 1, 0));
            receiver.add(Op.exchange(receiver, "receive " + i, new int[] {0}, new long[] {BYTES}, 0, 0));
        }
        world.run();
        return compute.free;
    }

    @Test
    void anAttentionKernelEndsLaterByTheContentionTimesItsOverlapWithEachExchange() {
        for (double c : new double[] {0, 0.25, 0.5, 0.9}) {
            HardwareProfile p = withContention(c);
            double move = BYTES / p.nvlinkBytesPerSecond();
            double first = p.twoSidedOpSeconds() + move; // the first exchange's end; the second moves after its own op
            double second = first + p.twoSidedOpSeconds() + move;
            assertEquals(KERNEL + c * move, attentionEnd(p, 0, 1), EPSILON, "one exchange, c=" + c);
            assertEquals(KERNEL + 2 * c * move, attentionEnd(p, 0, 2), EPSILON,
                    "two exchanges, the end moved twice, c=" + c + " (they end at " + first + " and " + second + ")");
        }
    }

    @Test
    void anAttentionKernelThatStartsInsideAnExchangeIsSlowedForWhatIsLeftOfIt() {
        double c = 0.5;
        HardwareProfile p = withContention(c);
        double before = 100e-6; // the exchange moves from 30 us to 230 us
        double moveEnd = p.twoSidedOpSeconds() + BYTES / p.nvlinkBytesPerSecond();
        assertEquals(before + KERNEL + c * (moveEnd - before), attentionEnd(p, before, 1), EPSILON);
        // A kernel that starts after the bytes moved is not slowed.
        assertEquals(300e-6 + KERNEL, attentionEnd(p, 300e-6, 1), EPSILON);
    }

    /**
     * Rank 0 of 2x1 pushes to rank 1 while its attention runs: over a NIC the push takes no SMs; on one host
     * ({@link Simulator#onOneHost}) the logical machines are joined by NVLink and the SM kernel copies it.
     */
    @Test
    void aPushToAnotherLogicalMachineOfOneHostSharesSmsAndOneOverANicDoesNot() {
        double c = 0.5;
        HardwareProfile p = withContention(c);
        for (boolean oneHost : new boolean[] {false, true}) {
            SimulatorClosedFormTest.Hand world = new SimulatorClosedFormTest.Hand(p, Topology.of(2, 1), oneHost);
            SimStream compute = world.stream(0);
            compute.add(Op.kernel(compute, "attention", KERNEL, true));
            SimStream pusher = SimStream.of(world.devices.get(0).newArena().createStream("push"));
            pusher.add(Op.oneSided(Op.Kind.PUT, pusher, "push", new int[] {1}, new long[] {BYTES}));
            world.run();
            double move = BYTES / p.nvlinkBytesPerSecond();
            assertEquals(oneHost ? KERNEL + c * move : KERNEL, compute.free, EPSILON, "one host: " + oneHost);
        }
        // On one host a barrier of the logical machines crosses no network.
        SimulatorClosedFormTest.Hand world = new SimulatorClosedFormTest.Hand(p, Topology.of(2, 1), true);
        for (int r = 0; r < 2; r++) {
            world.devices.get(r).communicator().barrierAll(world.compute.get(r), "barrier");
        }
        world.run();
        assertEquals(0, world.stream(0).free, EPSILON);
    }

    /**
     * Contention only slows GPUs whose SMs some transfer holds: a layer of copy-engine pulls and NIC transfers (the
     * one-sided ring, {@code t = u' = 1}) is the same to the last bit with any contention, on a GPU cluster and on one
     * host, also where two GPUs share a machine's NIC (on {@code a100}'s 4x2 its transfers tie there, and a kernel
     * taken through the engine's queues would reorder them); a layer of NCCL exchanges (USP) is slower with it.
     */
    @Test
    void aLayerWhoseTransfersHoldNoSmsIsTheSameWithAnyContention() {
        for (HardwareProfile profile : new HardwareProfile[] {HardwareProfile.h200(), HardwareProfile.a100()}) {
            Topology topology = profile.equals(HardwareProfile.h200()) ? Topology.of(2, 4) : Topology.of(4, 2);
            AttentionShape shape = AttentionShape.of(1, 65536, 24, 128);
            Plan ring = Plan.of(shape, DeviceMesh.of(topology, Method.STREAMFUSION, 1, 1, 8));
            Plan usp = Plan.of(shape, DeviceMesh.of(topology, Method.USP, 1, 2, 4));
            for (boolean oneHost : new boolean[] {false, true}) {
                String where = profile.name() + " on " + topology + ", one host: " + oneHost;
                SimulatedTime free = simulate(with(profile, 0), topology, oneHost, ring);
                for (double c : new double[] {0.25, profile.smContention(), 0.9}) {
                    assertEquals(free, simulate(with(profile, c), topology, oneHost, ring), "one-sided ring, c=" + c
                            + ", " + where);
                    double slowed = simulate(with(profile, c), topology, oneHost, usp).totalSeconds();
                    double unslowed = simulate(with(profile, 0), topology, oneHost, usp).totalSeconds();
                    assertTrue(slowed > unslowed, "USP, c=" + c + ", " + where + ": " + slowed + " s against "
                            + unslowed + " s without contention");
                }
            }
        }
    }

    private static SimulatedTime simulate(HardwareProfile p, Topology topology, boolean oneHost, Plan plan) {
        return (oneHost ? Simulator.onOneHost(p, topology) : Simulator.of(p, topology)).simulate(plan);
    }

    private static HardwareProfile with(HardwareProfile p, double contention) {
        return new HardwareProfile(p.name(), p.version(), p.streamingMultiprocessors(), p.tileFlopsPerSecondD64(),
                p.tileFlopsPerSecondD128(), p.launchSeconds(), p.waveSeconds(), p.memoryBytesPerSecond(), p.nvlinkBytesPerSecond(),
                p.copyEngineBytesPerSecond(), p.twoSidedOpSeconds(), p.oneSidedOpSeconds(), contention,
                p.attentionLayerFactor(), p.proxyMessageSeconds(), p.pcieBytesPerSecond(), p.link());
    }

    @Test
    void aContentionOutsideZeroToOneIsRefusedNamingIt() {
        for (double c : new double[] {-0.1, 1, Double.NaN}) {
            InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class, () -> withContention(c));
            assertEquals(true, e.getMessage().contains("smContention=" + c), e.getMessage());
        }
    }
}
