package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.streamfusion.DeviceMesh;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.LinkCompression;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.planning.Planner;
import org.streamfusion.Topology;

/** What the sweep would run, for any GPU count, without a GPU. */
class SweepPlanTest {
    private static final List<Method> ALL = List.of(Method.values());

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"2x1", "1x2", "2x2", "4x1", "2x4", "4x2", "8x1"})
    void everyValidMeshOfEveryMethodUnderEveryLinkAndShape(String mxg) {
        Topology topo = SweepRank.topology(mxg);
        List<SweepPlan.LinkSetting> links = SweepPlan.LinkSetting.parseList("none,unlimited,p4de-400G/gpu-of-8,12.5,10,per-gpu");
        List<Integer> seq = SweepPlan.Config.defaultSeqLens(topo);
        SweepPlan.Config c = new SweepPlan.Config(topo, links, seq, List.of(64, 128), List.of(1, 2, 4), 24, ALL);
        List<SweepPlan.Row> rows = SweepPlan.rows(c);
        // the planner's valid candidates, once per (link, S, D, B)
        int perShape = 0;
        Set<Method> methods = EnumSet.noneOf(Method.class);
        for (Planner.Candidate k : Planner.withDefaults().enumerate(rows.getFirst().shape(), topo)) {
            if (k.valid()) {
                perShape++;
                methods.add(k.method());
            }
        }
        assertEquals(EnumSet.allOf(Method.class), methods, mxg + ": every method has a valid mesh at H=24");
        assertEquals(links.size() * seq.size() * 2 * 3 * perShape, rows.size(), mxg);
        for (int i = 0; i < rows.size(); i++) {
            SweepPlan.Row r = rows.get(i);
            assertEquals(i + 1, r.index());
            assertEquals(rows.size(), r.total());
            assertTrue(r.predictedMs() > 0, r.toString());
            // each row is a plan the library accepts, and it survives the plan file
            Plan.of(r.shape(), DeviceMesh.of(topo, r.method(), r.t(), r.u(), r.r()));
            assertEquals(r, SweepRank.parseRow(SweepRank.formatRow(r)));
        }
        // grouped by link setting in the order given: one launch each
        List<String> order = rows.stream().map(r -> r.link().spec()).distinct().toList();
        assertEquals(links.stream().map(SweepPlan.LinkSetting::spec).toList(), order);
    }

    @Test
    void twoMachinesOfOneGpuRunTheseMeshes() {
        SweepPlan.Config c = new SweepPlan.Config(Topology.of(2, 1), List.of(new SweepPlan.LinkSetting("none")),
                List.of(32768), List.of(128), List.of(1), 24, ALL);
        Set<String> meshes = SweepPlan.rows(c).stream().map(SweepPlan.Row::mesh).collect(Collectors.toSet());
        // USP keeps Ulysses inside a machine (u=2 r=1 breaks that on 2x1); TAS keeps the ring inside (r=2 breaks it)
        assertEquals(Set.of("ULYSSES(u=2)", "RING(r=2)", "USP(u=1 r=2)", "TAS(u=2 r=1)", "TORUS_TWO_SIDED(t=1 u'=2 r=1)",
                "TORUS_TWO_SIDED(t=1 u'=1 r=2)", "TORUS_TWO_SIDED(t=2 u'=1 r=1)", "STREAMFUSION(t=1 u'=2 r=1)",
                "STREAMFUSION(t=1 u'=1 r=2)", "STREAMFUSION(t=2 u'=1 r=1)"), meshes);
    }

    @Test
    void slowerLinksArePredictedSlowerAndUnlimitedIsBoundedByNvlink() {
        SweepPlan.Config c = new SweepPlan.Config(Topology.of(2, 1), SweepPlan.LinkSetting.parseList(
                "none,unlimited,rail-400G,p4de-400G/gpu-of-8"), List.of(65536), List.of(128), List.of(1), 24, List.of(Method.TAS));
        List<SweepPlan.Row> rows = SweepPlan.rows(c);
        double[] ms = rows.stream().filter(r -> r.mesh().equals("TAS(u=2 r=1)")).mapToDouble(SweepPlan.Row::predictedMs).toArray();
        assertEquals(4, ms.length);
        assertEquals(ms[0], ms[1], 1e-9, "an unlimited emulated link still moves its bytes over NVLink");
        assertTrue(ms[2] > ms[1] && ms[3] > ms[2], java.util.Arrays.toString(ms));
    }

    @Test
    void linkListsKeepCustomLinksWholeAndNameBadOnes() {
        List<SweepPlan.LinkSetting> l = SweepPlan.LinkSetting.parseList("none, 12.5,10,per-gpu,eth-100G");
        assertEquals(List.of("none", "12.5,10,per-gpu", "eth-100G"), l.stream().map(SweepPlan.LinkSetting::spec).toList());
        assertFalse(l.getFirst().emulated());
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class,
                () -> SweepPlan.LinkSetting.parseList("none,fast-link"));
        assertTrue(e.getMessage().contains("fast-link"), e.getMessage());
        assertThrows(InvalidConfigurationException.class, () -> SweepPlan.LinkSetting.parseList("none,12.5,10"));
    }

    @Test
    void dryRunPrintsEveryRowWithItsPredictionAndRunsNothing() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int code = new picocli.CommandLine(new SweepCommand(new PrintStream(buf, true, StandardCharsets.UTF_8))).execute(
                "--topology", "2x2", "--links", "none,p4de-400G/gpu-of-8", "--seq", "16384", "--dims", "128", "--batches",
                "1", "--dry-run", "--out", "/nonexistent/never-written");
        String text = buf.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        assertTrue(text.contains("PREDICTIONS of the simulator, not measurements"), text);
        int rows = SweepPlan.rows(new SweepPlan.Config(Topology.of(2, 2), SweepPlan.LinkSetting.parseList(
                "none,p4de-400G/gpu-of-8"), List.of(16384), List.of(128), List.of(1), 24, ALL)).size();
        assertTrue(text.contains(rows + "/" + rows + " "), text);
        assertTrue(text.contains("p4de-400G/gpu-of-8") && text.contains("STREAMFUSION(t=2"), text);
    }

    @Test
    void aFp8SettingRunsEveryMeshThatCanCarryItNeverPredictedSlower() {
        SweepPlan.Config c = new SweepPlan.Config(Topology.of(2, 1), SweepPlan.LinkSetting.parseList(
                "eth-100G,eth-100G+fp8,12.5,10,per-gpu+fp8"), List.of(65536), List.of(128), List.of(1), 24, ALL);
        List<SweepPlan.LinkSetting> links = c.links();
        assertEquals(List.of(LinkCompression.NONE, LinkCompression.FP8_E4M3, LinkCompression.FP8_E4M3),
                links.stream().map(SweepPlan.LinkSetting::compression).toList());
        assertEquals("eth-100G+fp8", links.get(1).label());
        assertEquals("eth-100G", links.get(1).linkSpec());
        assertEquals("12.5,10,per-gpu", links.get(2).linkSpec());
        List<SweepPlan.Row> rows = SweepPlan.rows(c);
        Set<String> compressed = rows.stream().filter(r -> r.link().equals(links.get(1))).map(SweepPlan.Row::mesh)
                .collect(Collectors.toSet());
        // STREAMFUSION compresses only its torus: the t=1 meshes, whose groups span the two machines, are not run
        assertTrue(compressed.contains("STREAMFUSION(t=2 u'=1 r=1)") && !compressed.contains("STREAMFUSION(t=1 u'=2 r=1)")
                && !compressed.contains("STREAMFUSION(t=1 u'=1 r=2)") && compressed.size() == 8, compressed.toString());
        for (SweepPlan.Row fp8 : rows.stream().filter(r -> r.link().equals(links.get(1))).toList()) {
            SweepPlan.Row exact = rows.stream().filter(r -> r.link().equals(links.get(0)) && r.mesh().equals(fp8.mesh()))
                    .findFirst().orElseThrow();
            // never slower; strictly faster where the all-to-all is exposed (a ring hides its bytes under compute here)
            boolean exposed = fp8.method() == Method.ULYSSES || fp8.method() == Method.TAS;
            assertTrue(exposed ? fp8.predictedMs() < exact.predictedMs() : fp8.predictedMs() <= exact.predictedMs(),
                    fp8.mesh() + ": " + fp8.predictedMs() + " ms with fp8, " + exact.predictedMs() + " without");
        }
    }

    @Test
    void theFp8OptionAddsAnFp8TwinOfEveryEmulatedSetting() {
        SweepCommand cmd = new SweepCommand(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        new picocli.CommandLine(cmd).parseArgs("--links", "none,rail-400G,eth-100G+fp8", "--fp8");
        assertEquals(List.of("none", "rail-400G", "eth-100G+fp8", "rail-400G+fp8"),
                cmd.config().links().stream().map(SweepPlan.LinkSetting::spec).toList());
    }
}
