package org.streamfusion.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.DeviceMesh;
import org.streamfusion.InterMachineLink;
import org.streamfusion.LinkCompression;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;

/**
 * Simulated layers pinned to the last bit: every field of {@link SimulatedTime} on {@code h200} version 2 as the engine gave it when each
 * op was an object of its own and transfers waited in a {@code java.util.PriorityQueue}. Packing ops into
 * arrays, the primitive start queue and the streams' size hints change how the engine stores its work, never
 * the order it resolves it in, so each time must be equal, not close. Rows cover one-sided (GatherPull,
 * ScatterPush) and two-sided rings, all-to-alls, barriers, ragged shards and FP8 between machines. The six
 * TORUS_TWO_SIDED rows with {@code u' = 1} were pinned again when a piece of an exchange to its own rank stopped paying
 * the two-sided op's rendezvous (a change of the model, 2026-12-07: their Ulysses step of one exchanges with itself).
 */
class SimulatorPinnedTimesTest {
    /** The shipped h200 profile as it was when these were pinned (version 2): the pins test the engine, not the fit. */
    static final HardwareProfile H200_VERSION_2 = new HardwareProfile("h200", 2, 132, 4.711859412203963E14,
            6.546057844130025E14, 2.0197965815069267E-6, 0, 4.3e12, 3.3929984013788495E11, 2.019679896092039E11,
            6.821945562265609E-5, 3.383396823557146E-5, 0, 1, 10e-6, 64e9, InterMachineLink.rail400G());

    /** topology, S, D, FP8, method, t/u/r, then total, compute, exposed, sync (hex doubles), critical rank. */
    private static final String ROWS = """
            2x4 65536 128 false ULYSSES 1/8/1 0x1.a09335d52bee9p-7 0x1.549e98b2e4437p-7 0x1.2fd274891eac8p-9 0x0.0p0 0
            2x4 65536 128 false RING 1/1/8 0x1.05721fb3c2393p-6 0x1.5515330f495a7p-7 0x1.6b9e18b0762fep-8 0x0.0p0 0
            2x4 65536 128 false USP 1/1/8 0x1.05721fb3c2393p-6 0x1.5515330f495a7p-7 0x1.6b9e18b0762fep-8 0x0.0p0 0
            2x4 65536 128 false TAS 1/2/4 0x1.9f2f66bffca99p-7 0x1.54d16d23a1df9p-7 0x1.2977e6716b282p-9 0x0.0p0 0
            2x4 65536 128 false TORUS_TWO_SIDED 1/1/8 0x1.071cc4247ab63p-6 0x1.5515330f495a7p-7 0x1.7248aa735823fp-8 0x0.0p0 0
            2x4 65536 128 false STREAMFUSION 1/1/8 0x1.38e348b5e0e16p-6 0x1.5515330f495a7p-7 0x1.1cb15e5c78686p-7 0x0.0p0 0
            4x8 4608 128 false TORUS_TWO_SIDED 1/1/32 0x1.bbec6166d49d3p-9 0x1.6a94f17447477p-13 0x1.a543124f9029p-9 0x0.0p0 0
            4x8 4608 128 false TORUS_TWO_SIDED 1/2/16 0x1.e1b409c3777c8p-10 0x1.26cf05cccc6ffp-13 0x1.bcda2909ddee8p-10 0x0.0p0 0
            4x8 4608 128 false TORUS_TWO_SIDED 1/4/8 0x1.9012d216bb868p-11 0x1.04ec0ff90f043p-13 0x1.4ed7ce1877c58p-11 0x0.0p0 0
            4x8 4608 128 false TORUS_TWO_SIDED 1/8/4 0x1.0e1bb9a35e2c2p-11 0x1.e7f52a1e609cbp-14 0x1.a23a28bf2431p-12 0x0.0p0 0
            4x8 4608 128 false TORUS_TWO_SIDED 2/1/16 0x1.15f6b00ab0fd8p-8 0x1.159a08dd0692dp-12 0x1.049d0f7ce094ap-8 0x0.0p0 0
            4x8 4608 128 false TORUS_TWO_SIDED 2/2/8 0x1.c8d854784e56ap-10 0x1.cca3790fff6efp-13 0x1.8f43e5564e68cp-10 0x0.0p0 0
            4x8 4608 128 false TORUS_TWO_SIDED 2/4/4 0x1.f337db55b9ba6p-11 0x1.a7ff99f4b866bp-13 0x1.8937f4d88ba0cp-11 0x0.0p0 0
            4x8 4608 128 false TORUS_TWO_SIDED 4/1/8 0x1.d5a9acde11198p-9 0x1.4e414e9731b61p-12 0x1.abe1830b2ae37p-9 0x0.0p0 0
            4x8 4608 128 false TORUS_TWO_SIDED 4/2/4 0x1.d0b71f7e66bf6p-10 0x1.1d988d9e660c7p-12 0x1.8950fc16cd3c4p-10 0x0.0p0 0
            4x8 4608 128 false STREAMFUSION 1/1/32 0x1.b3953a42255a1p-9 0x1.6a94f17447477p-13 0x1.9cebeb2ae0e5fp-9 0x0.0p0 0
            4x8 4608 128 false STREAMFUSION 1/2/16 0x1.bf6bf41ebe3c5p-10 0x1.26cf05cccc6ffp-13 0x1.9a92136524ae5p-10 0x0.0p0 0
            4x8 4608 128 false STREAMFUSION 1/4/8 0x1.b9f14d0bd49cbp-11 0x1.04ec0ff90f043p-13 0x1.78b6490d90dbbp-11 0x0.0p0 0
            4x8 4608 128 false STREAMFUSION 1/8/4 0x1.31b283044d6c5p-11 0x1.e7f52a1e609cbp-14 0x1.e967bb8102b16p-12 0x0.0p0 0
            4x8 4608 128 false STREAMFUSION 2/1/16 0x1.04567cc8a63f5p-8 0x1.159a08dd0692dp-12 0x1.e5f9b875abacdp-9 0x0.0p0 0
            4x8 4608 128 false STREAMFUSION 2/2/8 0x1.02b68de4f06e2p-9 0x1.cca3790fff6efp-13 0x1.cbd8aca7e0ee6p-10 0x0.0p0 0
            4x8 4608 128 false STREAMFUSION 2/4/4 0x1.3092efc24d3cep-10 0x1.a7ff99f4b866bp-13 0x1.f725f9076c602p-11 0x0.0p0 0
            4x8 4608 128 false STREAMFUSION 4/1/8 0x1.e5415761956c1p-9 0x1.4e414e9731b61p-12 0x1.bb792d8eaf35fp-9 0x0.0p0 0
            4x8 4608 128 false STREAMFUSION 4/2/4 0x1.22cdbcde03b4p-9 0x1.1d988d9e660c7p-12 0x1.fe3556546de4ep-10 0x0.0p0 0
            4x8 1000 64 true RING 1/1/32 0x1.45e4f3dea7623p-9 0x1.acccb6ab598fdp-14 0x1.387e8e294c95fp-9 0x0.0p0 8
            4x8 1000 64 true USP 1/1/32 0x1.45e4f3dea7623p-9 0x1.acccb6ab598fdp-14 0x1.387e8e294c95fp-9 0x0.0p0 8
            4x8 1000 64 true TAS 1/4/8 0x1.79550027d1fdap-11 0x1.c2f5e769d2128p-15 0x1.5d25a1b134dc7p-11 0x0.0p0 0
            4x8 1000 64 true TORUS_TWO_SIDED 1/1/32 0x1.46fa224d25096p-9 0x1.acccb6ab598fdp-14 0x1.3993bc97ca3d3p-9 0x0.0p0 8
            4x8 1000 64 true STREAMFUSION 4/1/8 0x1.db25f6f7a0774p-9 0x1.8b4cb865f690ap-13 0x1.c2712b71410eep-9 0x0.0p0 0
            8x8 65536 128 false RING 1/1/64 0x1.4ff9895736a48p-6 0x1.e7f52a1e609c4p-10 0x1.317a36b5509bp-6 0x0.0p0 0
            8x8 65536 128 false USP 1/1/64 0x1.4ff9895736a48p-6 0x1.e7f52a1e609c4p-10 0x1.317a36b5509bp-6 0x0.0p0 0
            8x8 65536 128 false TAS 1/8/8 0x1.3c13e4cd98cf5p-9 0x1.ca4e93051ade7p-10 0x1.5bb26d2c2d809p-11 0x0.0p0 0
            8x8 65536 128 false TORUS_TWO_SIDED 1/1/64 0x1.504c847c66f9ep-6 0x1.e7f52a1e609c4p-10 0x1.31cd31da80f07p-6 0x0.0p0 0
            8x8 65536 128 false STREAMFUSION 1/1/64 0x1.a10d730a25349p-6 0x1.e7f52a1e609c4p-10 0x1.828e20683f2b5p-6 0x0.0p0 0
            """;

    static Stream<String> rows() {
        return ROWS.lines().map(String::strip).filter(l -> !l.isEmpty());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void simulatedTimeIsBitForBitThePinnedOne(String row) {
        String[] f = row.split(" ");
        Topology topology = Topology.parse(f[0]);
        int[] mesh = Arrays.stream(f[5].split("/")).mapToInt(Integer::parseInt).toArray();
        Plan plan = Plan.of(AttentionShape.of(1, Integer.parseInt(f[1]), 24, Integer.parseInt(f[2]), DType.BF16),
                DeviceMesh.of(topology, Method.valueOf(f[4]), mesh[0], mesh[1], mesh[2]));
        if (Boolean.parseBoolean(f[3])) {
            plan = plan.withInterMachine(LinkCompression.FP8_E4M3);
        }
        SimulatedTime t = Simulator.of(H200_VERSION_2, topology).simulate(plan);
        assertEquals(Double.parseDouble(f[6]), t.totalSeconds(), 0.0, "total");
        assertEquals(Double.parseDouble(f[7]), t.computeSeconds(), 0.0, "compute");
        assertEquals(Double.parseDouble(f[8]), t.exposedCommunicationSeconds(), 0.0, "exposed");
        assertEquals(Double.parseDouble(f[9]), t.synchronisationSeconds(), 0.0, "sync");
        assertEquals(Integer.parseInt(f[10]), t.criticalRank(), "critical rank");
    }
}
