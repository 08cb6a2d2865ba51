package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.streamfusion.AttentionShape;
import org.streamfusion.Method;
import org.streamfusion.Topology;
import org.streamfusion.sim.HardwareProfile;
import org.streamfusion.planning.Planner;

/**
 * The prediction tables and plots of docs/simulator.md come from one command: in quick mode (the paper's
 * testbed on 1 and 2 machines) every row holds each method's best simulated mesh, the pick is the fastest
 * of them, and a plot is drawn per scenario.
 */
class SimulatorPredictionsReportTest {
    @Test
    void quickPredictionsHoldEachMethodsBestMeshAndThePickAndDrawTheirPlot(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        List<Path> written = SimulatorPredictionsReport.write(dir, true, new PrintStream(log, true, StandardCharsets.UTF_8));
        assertEquals(2, written.size(), "the paper-testbed plot and the table: " + written);
        BufferedImage png = ImageIO.read(written.get(0).toFile());
        assertEquals(SimulatorPredictionsReport.WIDTH, png.getWidth());
        String table = Files.readString(written.get(1));
        List<String> rows = table.lines().filter(l -> l.startsWith("| 1x8") || l.startsWith("| 2x8")).toList();
        assertEquals(2, rows.size(), table);
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("paper-testbed: 2x8 S=36864 simulated in"), log.toString());
        // The 2x8 row's STREAMFUSION cell is the fastest STREAMFUSION mesh of a full ranking, and the pick the fastest.
        AttentionShape shape = AttentionShape.of(1, 36864, 24, 128);
        List<Planner.Candidate> ranked = Planner.of(HardwareProfile.a100()).enumerate(shape, Topology.of(2, 8));
        Planner.Candidate bestSfu = ranked.stream().filter(r -> r.valid() && r.method() == Method.STREAMFUSION)
                .findFirst().orElseThrow();
        String sfuCell = String.format(java.util.Locale.ROOT, "%.2f", bestSfu.time().totalSeconds() * 1e3);
        String[] cells = rows.get(1).split("\\|");
        assertTrue(cells[8].trim().startsWith(sfuCell), "STREAMFUSION cell " + cells[8] + " vs " + sfuCell);
        String pick = String.format(java.util.Locale.ROOT, "%.2f ms", ranked.get(0).time().totalSeconds() * 1e3);
        assertTrue(cells[11].contains(pick), "pick " + cells[11] + " vs " + pick);
        // SFU/USP is USP's best time over STREAMFUSION's; efficiency is T(1x8)*8 / (T(2x8)*16) of the picks.
        double usp = Double.parseDouble(cells[5].trim().split(" ")[0]);
        double sfu = Double.parseDouble(cells[8].trim().split(" ")[0]);
        assertEquals(usp / sfu, Double.parseDouble(cells[10].trim().replace("x", "")), 0.011, "SFU/USP " + cells[10]);
        double pick1 = Double.parseDouble(rows.get(0).split("\\|")[11].split(": ")[1].split(" ")[0]);
        double pick2 = Double.parseDouble(cells[11].split(": ")[1].split(" ")[0]);
        String efficiency = String.format(java.util.Locale.ROOT, "%.2f", pick1 * 8 / (pick2 * 16));
        assertTrue(table.contains("- scaling efficiency of the pick at S=36864, 2x8 against 1x8: "), table);
        double efficiencyWritten = Double.parseDouble(table.lines().filter(l -> l.contains("2x8 against 1x8")).findFirst()
                .orElseThrow().replaceAll(".*: ", ""));
        assertEquals(Double.parseDouble(efficiency), efficiencyWritten, 0.011, table);
    }

    @Test
    void theLargeClusterPlotDrawsAMethodValidOnOneClusterOnlyAsAPoint() {
        var scenario = SimulatorPredictionsReport.scenarios().get(1);
        var shape = scenario.shapes().get(0);
        var rows = List.of(SimulatorPredictionsReport.row(scenario.profile(), Topology.of(8, 8), shape),
                SimulatorPredictionsReport.row(scenario.profile(), Topology.of(16, 8), shape));
        var series = SimulatorPredictionsReport.timeSeries(rows);
        assertTrue(series.containsKey("TAS"), "TAS has a mesh on 8x8");
        assertEquals(1, series.get("TAS").size(), "TAS has none on 16x8 (u = 16 does not divide H = 24)");
        var chart = Charts.lineChart("time", "machines", "ms", series, true);
        assertEquals(1, chart.getXYPlot().getDataset().getItemCount(chart.getXYPlot().getDataset().indexOf("TAS")));
        assertTrue(((org.jfree.chart.renderer.xy.XYLineAndShapeRenderer) chart.getXYPlot().getRenderer())
                .getDefaultShapesVisible(), "points are drawn");
    }
}
