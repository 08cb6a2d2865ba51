package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.streamfusion.InvalidConfigurationException;

/** The CSV round trip and the report from a synthetic CSV (no GPU: these numbers are made up for the test). */
class SweepReportTest {
    private static List<SweepCsv.Result> synthetic() {
        List<SweepCsv.Result> rows = new ArrayList<>();
        String cmd = "streamfusion sweep --topology 2x1 --links \"none,12.5,10,per-gpu\"";
        for (String link : List.of("none", "12.5GB/s,10us,per-gpu")) {
            for (int d : List.of(64, 128)) {
                double f = link.equals("none") ? 1 : 3;
                rows.add(new SweepCsv.Result("test device", "2026-12-01T00:00:00Z", cmd, "2x1", link, "USP", "USP(u=1 r=2)", 1,
                        32768, 24, d, 10 * f, 9.5 * f, 11 * f, 9 * f));
                rows.add(new SweepCsv.Result("test device", "2026-12-01T00:00:00Z", cmd, "2x1", link, "USP", "USP(u=2 r=1)", 1,
                        32768, 24, d, 12 * f, 11 * f, 13 * f, 10 * f));
                rows.add(new SweepCsv.Result("test device", "2026-12-01T00:00:00Z", cmd, "2x1", link, "STREAMFUSION",
                        "STREAMFUSION(t=2 u'=1 r=1)", 1, 32768, 24, d, 8 * f, 7.5 * f, 9 * f, 8.5 * f));
            }
        }
        return rows;
    }

    @Test
    void csvRoundTripsQuotedFieldsAndNamesBadLines(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("sweep.csv");
        List<SweepCsv.Result> rows = synthetic();
        SweepCsv.append(csv, rows.subList(0, 3));
        SweepCsv.append(csv, rows.subList(3, rows.size()));
        assertEquals(rows, SweepCsv.read(csv));
        assertEquals(1, Files.readAllLines(csv).stream().filter(l -> l.startsWith("device,")).count());
        Files.writeString(csv, "not,a,header\n");
        var e = assertThrows(InvalidConfigurationException.class, () -> SweepCsv.read(csv));
        assertTrue(e.getMessage().contains("header"), e.getMessage());
    }

    @Test
    void fieldsWithLineBreaksQuotesCommasAndTabsReadBackAsWritten(@TempDir Path dir) {
        Path csv = dir.resolve("sweep.csv");
        String device = "2 x NVIDIA H200\n(driver 580.159.04, \"SXM\")\r\n\tsecond line,";
        String command = "streamfusion sweep --links \"none,\n12.5,10,per-gpu\"\t";
        List<SweepCsv.Result> rows = new ArrayList<>();
        for (SweepCsv.Result r : synthetic()) {
            rows.add(new SweepCsv.Result(device, r.date(), command, r.topology(), r.link() + "\n", r.method(), r.mesh(),
                    r.batch(), r.seqLen(), r.heads(), r.headDim(), r.medianMs(), r.p10Ms(), r.p90Ms(), r.predictedMs()));
        }
        SweepCsv.append(csv, rows.subList(0, 2));
        SweepCsv.append(csv, rows.subList(2, rows.size()));
        assertEquals(rows, SweepCsv.read(csv));
    }

    @Test
    void aRecordWithTheWrongFieldCountOrANonNumberIsNamed(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("sweep.csv");
        SweepCsv.append(csv, synthetic().subList(0, 1));
        Files.writeString(csv, "a,b\n", StandardOpenOption.APPEND);
        var count = assertThrows(InvalidConfigurationException.class, () -> SweepCsv.read(csv));
        assertTrue(count.getMessage().contains("record 3") && count.getMessage().contains("2 fields"), count.getMessage());
        Files.writeString(csv, String.join(",", SweepCsv.HEADER) + "\nd,t,c,2x1,none,USP,m,one,2,3,4,1,1,1,1\n");
        var number = assertThrows(InvalidConfigurationException.class, () -> SweepCsv.read(csv));
        assertTrue(number.getMessage().contains("one"), number.getMessage());
    }

    @Test
    void reportWritesMarkdownAndPngsThatDecode(@TempDir Path dir) throws Exception {
        System.setProperty("java.awt.headless", "true");
        Path csv = dir.resolve("sweep.csv");
        SweepCsv.append(csv, synthetic());
        CommandLineTest.Run run = CommandLineTest.run("sweep-report", csv.toString(), dir.resolve("report").toString());
        assertEquals(0, run.code(), run.toString());
        String md = Files.readString(dir.resolve("report/sweep.md"));
        assertTrue(md.contains("| none | 32768 | 128 | 1 | STREAMFUSION | STREAMFUSION(t=2 u'=1 r=1) | 8.000 | 7.500-9.000 | 8.500 | 0.80 |"), md);
        assertTrue(md.contains("test device") && md.contains("streamfusion sweep --topology 2x1"), md);
        for (String name : List.of("normalised-none.png", "normalised-12.5GB_s_10us_per-gpu.png")) {
            BufferedImage img = ImageIO.read(dir.resolve("report").resolve(name).toFile());
            assertNotNull(img, name);
            assertEquals(SweepReport.NORMALISED_WIDTH, img.getWidth());
            assertEquals(SweepReport.NORMALISED_HEIGHT, img.getHeight());
        }
        BufferedImage scatter = ImageIO.read(dir.resolve("report/measured-vs-predicted.png").toFile());
        assertNotNull(scatter);
        assertEquals(SweepReport.SCATTER_SIZE, scatter.getWidth());
        assertEquals(SweepReport.SCATTER_SIZE, scatter.getHeight());
    }

    @Test
    void percentilesAreNearestRankAndTheMedianIsTheMiddleOrTheMeanOfTheMiddleTwo() {
        float[] ms = {5, 1, 4, 2, 3, 10, 9, 8, 7, 6};
        LayerTiming.Timing t = LayerTiming.Timing.of(ms);
        assertEquals(5.5, t.medianMs(), 0, "even count: the mean of 5 and 6");
        assertEquals(1, t.p10Ms(), 0, "ceil(0.1 * 10) = the 1st smallest");
        assertEquals(9, t.p90Ms(), 0, "ceil(0.9 * 10) = the 9th smallest");
        assertEquals(10, t.reps());
        LayerTiming.Timing odd = LayerTiming.Timing.of(new float[] {7, 3, 11, 5, 2, 13, 17});
        assertEquals(7, odd.medianMs(), 0, "odd count: the middle one");
        assertEquals(2, odd.p10Ms(), 0, "ceil(0.7) = the 1st smallest");
        assertEquals(17, odd.p90Ms(), 0, "ceil(6.3) = the 7th smallest");
        assertEquals(Double.NaN, LayerTiming.Timing.of(new float[0]).medianMs());
    }
}
