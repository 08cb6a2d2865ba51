package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cpu.ShardedAttention;
import org.streamfusion.planning.Planner;
import org.streamfusion.spi.Fp8Layout;

/**
 * Inter-machine FP8 (docs/algorithms.md, section 7): on every method and valid mesh of multi-machine
 * topologies, the layer with e4m3 on the machine-crossing transfers stays within the stated error of
 * float64 attention, moves fewer inter-machine bytes by the wire's ratio where it compresses, and leaves the
 * transfers inside a machine as they were (two-sided) or adds only the e4m3 shadows (one-sided).
 */
class InterMachineFp8Test {
    /** Norm-wise relative error allowed against float64 with e4m3 on the slow links (measured: section 7). */
    static final double FP8_TOLERANCE = 0.05;
    static final int[][] TOPOLOGIES = {{2, 1}, {2, 2}, {3, 2}, {4, 1}, {2, 4}};

    static Stream<Arguments> meshes() {
        List<Arguments> cases = new ArrayList<>();
        for (int[] mg : TOPOLOGIES) {
            Topology topology = Topology.of(mg[0], mg[1]);
            AttentionShape shape = shape(topology);
            for (Planner.Candidate c : Planner.withDefaults().enumerate(shape, topology)) {
                if (c.valid()) {
                    cases.add(Arguments.of(topology, c.method(), c.t(), c.u(), c.r()));
                }
            }
        }
        return cases.stream();
    }

    static AttentionShape shape(Topology topology) {
        return AttentionShape.of(2, 4 * topology.worldSize(), 24, 64);
    }

    @ParameterizedTest(name = "{0} {1} t={2} u''={3} r={4}")
    @MethodSource("meshes")
    void fp8OnTheSlowLinksStaysWithinToleranceAndCutsInterMachineBytes(Topology topology, Method method, int t, int u,
            int r) {
        AttentionShape shape = shape(topology);
        Plan exact = Plan.of(shape, DeviceMesh.of(topology, method, t, u, r));
        if (method == Method.STREAMFUSION && !(t == topology.machines() && topology.gpusPerMachine() % (u * r) == 0)) {
            InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class,
                    () -> exact.withInterMachine(LinkCompression.FP8_E4M3));
            assertTrue(e.getMessage().contains("spans machines") && e.rule().contains("t = M"), e.getMessage());
            return;
        }
        Plan fp8 = exact.withInterMachine(LinkCompression.FP8_E4M3);
        Inputs in = Inputs.fresh(shape);
        String name = fp8 + " (seed " + in.seed + ")";
        double[] ref = ReferenceAttention.attention(in.q, in.k, in.v, shape.batch(), shape.seqLen(), shape.heads(),
                shape.headDim(), shape.softmaxScale());
        try (CpuWorld w = CpuWorld.create(topology)) {
            float[] outExact = ShardedAttention.forward(w, exact, in.q, in.k, in.v);
            long interExact = w.bytes(LinkClass.INTER_MACHINE);
            long intraExact = w.bytes(LinkClass.INTRA_MACHINE);
            w.resetCounters();
            float[] outFp8 = ShardedAttention.forward(w, fp8, in.q, in.k, in.v, 2);
            long interFp8 = w.bytes(LinkClass.INTER_MACHINE) / 2;
            long intraFp8 = w.bytes(LinkClass.INTRA_MACHINE) / 2;

            double errExact = ReferenceAttention.relativeError(outExact, ref);
            double errFp8 = ReferenceAttention.relativeError(outFp8, ref);
            System.out.printf("fp8 %s: error %.3e (exact plan %.1e); inter-machine bytes %d -> %d (%.3f); "
                    + "intra-machine %d -> %d%n", fp8, errFp8, errExact, interExact, interFp8,
                    (double) interFp8 / interExact, intraExact, intraFp8);
            assertTrue(errExact <= ExactnessTest.TOLERANCE, name + ": the exact plan is off by " + errExact);
            assertTrue(errFp8 <= FP8_TOLERANCE, name + ": error " + errFp8 + " > " + FP8_TOLERANCE);
            assertTrue(interFp8 < interExact, name + ": inter-machine bytes " + interExact + " -> " + interFp8);
            // fp32 on the CPU backend: a wire carries 1 + 4/D + 2/32 bytes per element (codes, scales, bf16 slots)
            // and a 4-byte centre per channel, 4/tokens per element: at most 4/(B S/N), a shard's tokens.
            double wire = (1 + 4.0 / shape.headDim() + 2.0 / Fp8Layout.BLOCKS_PER_SLOT) / Float.BYTES;
            double centres = 4.0 / (shape.batch() * shape.seqLen() / topology.worldSize()) / Float.BYTES;
            double ratio = (double) interFp8 / interExact;
            assertTrue(ratio >= wire - 1e-9 && ratio <= wire + centres + 0.01, name + ": inter-machine byte ratio "
                    + ratio + " outside [" + wire + ", " + (wire + centres + 0.01) + "]");
            if (method == Method.STREAMFUSION) {
                assertTrue(intraFp8 >= intraExact, name + ": shadows only add intra-machine bytes");
            } else {
                assertEquals(intraExact, intraFp8, name + ": intra-machine bytes must not change");
            }
        }
    }
}
