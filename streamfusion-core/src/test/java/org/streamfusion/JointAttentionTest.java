package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cpu.ShardedAttention;
import org.streamfusion.planning.Planner;

/**
 * Joint text+image attention (docs/algorithms.md, section 3.7): on every method and valid mesh of the
 * {@link ExactnessTest} topologies, with S not divisible by N, the sharded image tokens and a text segment every
 * rank holds whole equal float64 attention over the concatenated sequence, to 1e-5, on the image output and on
 * every rank's text output; with every text key, and with per-batch valid lengths (one batch with none).
 */
class JointAttentionTest {
    static final int TEXT = 5;
    static final int[][] VALID = {null, {TEXT, 2}, {0, 3}};

    static Stream<Arguments> meshes() {
        List<Arguments> cases = new ArrayList<>();
        for (int[] mg : ExactnessTest.TOPOLOGIES) {
            Topology topology = Topology.of(mg[0], mg[1]);
            for (Planner.Candidate c : Planner.withDefaults().enumerate(shape(topology), topology)) {
                if (c.valid()) {
                    cases.add(Arguments.of(topology, c.method(), c.t(), c.u(), c.r()));
                }
            }
        }
        return cases.stream();
    }

    static AttentionShape shape(Topology topology) {
        return AttentionShape.of(2, 2 * topology.worldSize() + 1, 24, 16);
    }

    @ParameterizedTest(name = "{0} {1} t={2} u''={3} r={4}")
    @MethodSource("meshes")
    void imageAndTextTokensTogetherEqualFloat64AttentionOverTheConcatenation(Topology topology, Method method, int t,
            int u, int r) {
        AttentionShape shape = shape(topology);
        Plan plan = Plan.of(shape, DeviceMesh.of(topology, method, t, u, r)).withJointText(TEXT);
        AttentionShape textShape = AttentionShape.of(shape.batch(), TEXT, shape.heads(), shape.headDim());
        List<String> failures = new ArrayList<>();
        try (CpuWorld world = CpuWorld.create(topology)) {
            for (int[] valid : VALID) {
                Inputs image = Inputs.fresh(shape);
                Inputs text = Inputs.fresh(textShape);
                ShardedAttention.Joint out = ShardedAttention.forwardJoint(world, plan, image.q, image.k, image.v, text.q,
                        text.k, text.v, valid);
                double[][] ref = reference(shape, image, text, valid);
                String name = plan + ", valid text " + java.util.Arrays.toString(valid) + " (seeds " + image.seed + ", "
                        + text.seed + ")";
                double err = ReferenceAttention.relativeError(out.image(), ref[0]);
                if (!(err <= ExactnessTest.TOLERANCE)) {
                    failures.add(name + ": image error " + err);
                }
                for (int g = 0; g < out.textByRank().size(); g++) {
                    double e = ReferenceAttention.relativeError(out.textByRank().get(g), ref[1]);
                    if (!(e <= ExactnessTest.TOLERANCE)) {
                        failures.add(name + ": text error " + e + " on rank " + g);
                    }
                    if (!java.util.Arrays.equals(out.textByRank().get(g), out.textByRank().get(0))) {
                        failures.add(name + ": the text output of rank " + g + " differs from rank 0's");
                    }
                }
            }
        }
        if (!failures.isEmpty()) {
            fail(String.join("\n", failures));
        }
    }

    /** float64 attention, batch by batch, of [image; text] queries over [image; valid text] keys. */
    static double[][] reference(AttentionShape s, Inputs image, Inputs text, int[] valid) {
        return ReferenceAttention.joint(image.q, image.k, image.v, text.q, text.k, text.v, s.batch(), s.seqLen(), TEXT,
                s.heads(), s.headDim(), s.softmaxScale(), valid);
    }

    @Test
    void theFloat64JointReferenceRefusesBadLengthsAndValidCountsUpFrontNamingThem() {
        // B = 2, seq = 3, textRows = 2, H = 1, D = 4: image arrays hold 24 values, text ones 16.
        float[] image = new float[24];
        float[] text = new float[16];
        var shortQ = assertThrows(InvalidArgumentException.class, () -> ReferenceAttention.joint(new float[23], image, image,
                text, text, text, 2, 3, 2, 1, 4, 0.5, null));
        assertEquals("q holds 23 values, not B*seq*H*D = 24", shortQ.getMessage());
        var longVText = assertThrows(InvalidArgumentException.class, () -> ReferenceAttention.joint(image, image, image,
                text, text, new float[17], 2, 3, 2, 1, 4, 0.5, null));
        assertEquals("vText holds 17 values, not B*textRows*H*D = 16", longVText.getMessage());
        var tooMany = assertThrows(InvalidArgumentException.class, () -> ReferenceAttention.joint(image, image, image,
                text, text, text, 2, 3, 2, 1, 4, 0.5, new int[] {2, 3}));
        assertEquals("validText[1]=3 is outside 0..textRows=2", tooMany.getMessage());
        var negative = assertThrows(InvalidArgumentException.class, () -> ReferenceAttention.joint(image, image, image,
                text, text, text, 2, 3, 2, 1, 4, 0.5, new int[] {-1, 0}));
        assertEquals("validText[0]=-1 is outside 0..textRows=2", negative.getMessage());
        var oneBatch = assertThrows(InvalidArgumentException.class, () -> ReferenceAttention.joint(image, image, image,
                text, text, text, 2, 3, 2, 1, 4, 0.5, new int[] {2}));
        assertEquals("validText holds 1 counts, not B = 2", oneBatch.getMessage());
        var overflow = assertThrows(InvalidArgumentException.class, () -> ReferenceAttention.joint(image, image, image,
                text, text, text, 1 << 16, 1 << 16, 2, 1, 4, 0.5, null));
        assertTrue(overflow.getMessage().contains("= 17179869184"), overflow.getMessage());
        assertEquals(2, ReferenceAttention.joint(image, image, image, text, text, text, 2, 3, 2, 1, 4, 0.5,
                new int[] {0, 2}).length);
    }

    @Test
    void jointTextsWithEqualValidRowsAreEqualHashAlikeAndPrintTheRows() {
        try (CpuWorld world = CpuWorld.create(Topology.of(1, 1));
                org.streamfusion.backend.DeviceArena io = world.device(0).newArena()) {
            var t = org.streamfusion.backend.TensorView.contiguous(io.allocate(2 * 3 * 4, DType.F32), 2, 3, 1, 4);
            JointText a = new JointText(t, t, t, t, new int[] {3, 1});
            JointText b = new JointText(t, t, t, t, new int[] {3, 1});
            assertEquals(a, b);
            assertEquals(a.hashCode(), b.hashCode());
            assertTrue(a.toString().endsWith("validRows=[3, 1]]"), a.toString());
            assertTrue(!a.equals(new JointText(t, t, t, t, new int[] {3, 2})));
            assertTrue(!a.equals(JointText.of(t, t, t, t)));
            assertEquals(JointText.of(t, t, t, t), JointText.of(t, t, t, t));
        }
    }

    @Test
    void aJointPlanWithoutItsTextOrTextWithoutAJointPlanIsRefused() {
        Topology topology = Topology.of(1, 2);
        AttentionShape shape = AttentionShape.of(1, 4, 4, 16);
        Plan plain = Plan.of(shape, DeviceMesh.of(topology, Method.ULYSSES, 1, 2, 1));
        Inputs in = Inputs.fresh(shape);
        float[] text = new float[TEXT * 4 * 16];
        try (CpuWorld world = CpuWorld.create(topology)) {
            InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class,
                    () -> ShardedAttention.forwardJoint(world, plain, in.q, in.k, in.v, text, text, text, null));
            assertTrue(e.rule().contains("withJointText"), e.getMessage());
            e = assertThrows(InvalidConfigurationException.class,
                    () -> ShardedAttention.forward(world, plain.withJointText(TEXT), in.q, in.k, in.v));
            assertTrue(e.rule().contains("JointText"), e.getMessage());
            e = assertThrows(InvalidConfigurationException.class, () -> ShardedAttention.forwardJoint(world,
                    plain.withJointText(TEXT), in.q, in.k, in.v, text, text, text, new int[] {TEXT + 1}));
            assertEquals("0 <= valid text length <= S_text", e.rule());
        }
        assertEquals("S_text >= 1", assertThrows(InvalidConfigurationException.class, () -> plain.withJointText(0)).rule());
    }

    @Test
    void everyMeshOfAJointPlanRunsUnderTheSimulatorAndTheTextCostsTime() {
        Topology topology = Topology.of(2, 4);
        org.streamfusion.sim.Simulator sim = org.streamfusion.sim.Simulator.of(org.streamfusion.sim.HardwareProfile.h200(),
                topology);
        AttentionShape shape = AttentionShape.of(1, 16385, 24, 128);
        int simulated = 0;
        for (Planner.Candidate c : Planner.withDefaults().enumerate(shape, topology)) {
            if (!c.valid()) {
                continue;
            }
            double plain = sim.simulate(c.plan()).totalSeconds();
            double joint = sim.simulate(c.plan().withJointText(512)).totalSeconds();
            assertTrue(joint > plain, c.plan() + ": " + joint + " s with 512 text tokens, " + plain + " s without");
            simulated++;
        }
        assertTrue(simulated > 10, simulated + " meshes");
    }

    /**
     * With FP8 between machines and a split the caller chose, the text output is still the same on every rank
     * to the bit (its exchange is never compressed), and both outputs stay within FP8's tolerance.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(Method.class)
    void withFp8AndACallerChosenSplitTheTextOutputIsTheSameOnEveryRank(Method method) {
        Topology topology = Topology.of(2, 2);
        AttentionShape shape = AttentionShape.of(2, 11, 24, 64);
        Plan plan;
        try {
            plan = Planner.withDefaults().best(shape, topology, method).withInterMachine(LinkCompression.FP8_E4M3)
                    .withShardRows(1, 5, 2, 3).withJointText(TEXT);
        } catch (InvalidConfigurationException refused) {
            plan = Plan.of(shape, DeviceMesh.of(topology, method, 2, 1, 2)).withInterMachine(LinkCompression.FP8_E4M3)
                    .withShardRows(1, 5, 2, 3).withJointText(TEXT); // STREAMFUSION: the mesh whose torus spans machines
        }
        Inputs image = Inputs.fresh(shape);
        Inputs text = Inputs.fresh(AttentionShape.of(2, TEXT, 24, 64));
        int[] valid = {TEXT, 1};
        try (CpuWorld world = CpuWorld.create(topology)) {
            ShardedAttention.Joint out = ShardedAttention.forwardJoint(world, plan, image.q, image.k, image.v, text.q,
                    text.k, text.v, valid);
            double[][] ref = reference(shape, image, text, valid);
            String name = plan + " (seeds " + image.seed + ", " + text.seed + ")";
            double imageErr = ReferenceAttention.relativeError(out.image(), ref[0]);
            assertTrue(imageErr <= InterMachineFp8Test.FP8_TOLERANCE, name + ": image error " + imageErr);
            for (int g = 0; g < out.textByRank().size(); g++) {
                assertTrue(java.util.Arrays.equals(out.textByRank().get(g), out.textByRank().get(0)),
                        name + ": the text output of rank " + g + " differs from rank 0's");
            }
            double textErr = ReferenceAttention.relativeError(out.textByRank().get(0), ref[1]);
            assertTrue(textErr <= InterMachineFp8Test.FP8_TOLERANCE, name + ": text error " + textErr);
        }
    }
}
