package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ShardedAttention;
import org.streamfusion.planning.CommunicationVolume;
import org.streamfusion.planning.Planner;

/** Measured bytes per rank and link class equal the closed forms of docs/communication-volume.md. */
class CommunicationVolumeTest {
    private static final int F32 = Float.BYTES; // the CPU backend moves fp32

    /** With S not divisible by N every chunk travels padded to the longest shard: the forms hold with S/N = ceil(S/N). */
    @ParameterizedTest(name = "{0}x{1}, S = 2N + {2}")
    @CsvSource({"1,4,0", "4,1,0", "2,2,0", "2,3,0", "3,2,0", "2,4,0", "4,2,0", "1,8,0", "8,1,0", "2,2,1", "2,3,5", "8,1,3"})
    void everyRankMovesExactlyTheClosedFormBytesOnEveryLinkClass(int machines, int gpus, int extra) {
        Topology topo = Topology.of(machines, gpus);
        int n = topo.worldSize();
        AttentionShape shape = AttentionShape.of(2, 2 * n + extra, 24, 16);
        Inputs in = Inputs.fresh(shape);
        int plans = 0;
        try (CpuWorld w = CpuWorld.create(topo)) {
            for (Planner.Candidate c : Planner.withDefaults().enumerate(shape, topo)) {
                if (!c.valid()) {
                    continue;
                }
                w.resetCounters();
                ShardedAttention.forward(w, c.plan(), in.q, in.k, in.v);
                CommunicationVolume vol = CommunicationVolume.of(c.plan());
                for (int g = 0; g < n; g++) {
                    for (LinkClass lc : LinkClass.values()) {
                        assertEquals(vol.rank(g).elements(lc) * F32, w.bytes(g, lc),
                                c.plan() + ": rank " + g + " over " + lc);
                    }
                }
                plans++;
            }
        }
        assertTrue(plans >= Method.values().length, "only " + plans + " plans checked");
    }

    @ParameterizedTest(name = "N={0}")
    @ValueSource(ints = {2, 3, 4, 6, 8})
    void ulyssesMovesFourNMinusOneEOverNSquaredAndRingTwoNMinusOneEOverNPerGpu(int n) {
        Topology topo = Topology.of(1, n);
        AttentionShape shape = AttentionShape.of(1, 2 * n, 24, 16);
        long e = shape.elements();
        Inputs in = Inputs.fresh(shape);
        try (CpuWorld w = CpuWorld.create(topo)) {
            long ulysses = perGpu(w, Plan.of(shape, DeviceMesh.of(topo, Method.ULYSSES, 1, n, 1)), in);
            long ring = perGpu(w, Plan.of(shape, DeviceMesh.of(topo, Method.RING, 1, 1, n)), in);
            assertEquals(4L * (n - 1) * e / ((long) n * n) * F32, ulysses);
            assertEquals(2L * (n - 1) * e / n * F32, ring);
            if (n == 2) {
                assertEquals(ring, ulysses, "equal at N = 2");
            } else {
                assertTrue(ulysses < ring, "Ulysses moves less beyond N = 2");
            }
        }
    }

    /** Bytes every GPU sends to others (both link classes), checked equal across GPUs. */
    private static long perGpu(CpuWorld w, Plan plan, Inputs in) {
        w.resetCounters();
        ShardedAttention.forward(w, plan, in.q, in.k, in.v);
        long first = -1;
        for (int g = 0; g < plan.mesh().worldSize(); g++) {
            long b = w.bytes(g, LinkClass.INTRA_MACHINE) + w.bytes(g, LinkClass.INTER_MACHINE);
            if (first < 0) {
                first = b;
            }
            assertEquals(first, b, "rank " + g + " of " + plan);
        }
        return first;
    }

    @ParameterizedTest(name = "{0}x{1}")
    @CsvSource({"2,2", "3,1", "3,2", "4,1", "4,2", "8,1"})
    void tasAndStreamFusionCrossMachinesLessThanUspOnceThereAreThreeMachines(int machines, int gpus) {
        Topology topo = Topology.of(machines, gpus);
        AttentionShape shape = AttentionShape.of(1, 4 * topo.worldSize(), 24, 16);
        Inputs in = Inputs.fresh(shape);
        try (CpuWorld w = CpuWorld.create(topo)) {
            long usp = inter(w, Plan.of(shape, DeviceMesh.of(topo, Method.USP, 1, gpus, machines)), in);
            long tas = inter(w, Plan.of(shape, DeviceMesh.of(topo, Method.TAS, 1, machines, gpus)), in);
            long sfuUlysses = inter(w, Plan.of(shape, DeviceMesh.of(topo, Method.STREAMFUSION, machines, gpus, 1)), in);
            long sfuRing = inter(w, Plan.of(shape, DeviceMesh.of(topo, Method.STREAMFUSION, machines, 1, gpus)), in);
            String figures = "USP " + usp + " TAS " + tas + " SFU(u'=G) " + sfuUlysses + " SFU(r=G) " + sfuRing + " bytes";
            if (machines >= 3) {
                assertTrue(tas < usp && sfuUlysses < usp && sfuRing < usp, figures);
            } else {
                assertTrue(tas == usp && sfuUlysses == usp && sfuRing == usp, "equal at M = 2: " + figures);
            }
            // SFU's cross-machine volume is the torus all-to-all, 4(M-1)/M of a local tensor per GPU.
            long en = shape.elements() / topo.worldSize();
            assertEquals(4L * (machines - 1) * en / machines * F32 * topo.worldSize(), sfuRing, figures);
        }
    }

    private static long inter(CpuWorld w, Plan plan, Inputs in) {
        w.resetCounters();
        ShardedAttention.forward(w, plan, in.q, in.k, in.v);
        return w.bytes(LinkClass.INTER_MACHINE);
    }

    @Test
    void aWorldThatRunsNothingCountsNothing() {
        try (CpuWorld w = CpuWorld.create(Topology.of(2, 2))) {
            for (LinkClass c : LinkClass.values()) {
                assertEquals(0, w.bytes(c));
            }
        }
    }
}
