package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.sim.HardwareProfile;

/**
 * {@code streamfusion calibrate}: the shipped h200 profile is its fit of the docs' measurements and the shipped a100
 * profile its fit of the paper's figures, to the last bit; its fits recover the constants of exact rows.
 */
class CalibrateCommandTest {
    private static final Path MEASUREMENTS = Path.of("..", "docs", "results", "h200-measurements.csv");
    private static final Path PAPER = Path.of("..", "docs", "results", "a100-paper.csv");

    @Test
    void theShippedH200ProfileIsTheFitOfEveryRowOfTheDocsMeasurementFile(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("h200.properties");
        Files.writeString(out, CalibrateCommand.profileFile(CalibrateCommand.read(MEASUREMENTS), 6,
                "docs/results/h200-measurements.csv"), StandardCharsets.UTF_8);
        HardwareProfile fitted = HardwareProfile.read(out);
        assertEquals(HardwareProfile.h200(), fitted, "run: streamfusion calibrate docs/results/h200-measurements.csv"
                + " --version 6 --out streamfusion-core/src/main/resources/org/streamfusion/sim/h200.properties");
        String text = Files.readString(out);
        for (String key : HardwareProfile.FILE_KEYS) {
            assertTrue(text.lines().anyMatch(l -> l.startsWith(key + ".source=") && l.length() > key.length() + 12),
                    key + " has a source:\n" + text);
        }
    }

    @Test
    void theShippedA100ProfileIsTheFitOfThePapersFiguresInTheDocs(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("a100.properties");
        Files.writeString(out, CalibrateCommand.profileFile(CalibrateCommand.read(PAPER), 2,
                "docs/results/a100-paper.csv"), StandardCharsets.UTF_8);
        assertEquals(HardwareProfile.a100(), HardwareProfile.read(out), "run: streamfusion calibrate"
                + " docs/results/a100-paper.csv --version 2 --out streamfusion-core/src/main/resources/org/streamfusion/sim/a100.properties");
    }

    @Test
    void aLineFitRecoversTheRateAndLatencyOfExactRows() {
        // bus GB/s of a transfer that takes 20 us + bytes/300 GB/s, at two sizes: the fit returns both numbers
        List<Map<String, String>> rows = new java.util.ArrayList<>(List.of(
                row("constant", "name", "test"), row("constant", "streamingMultiprocessors", "100"),
                row("constant", "memoryBytesPerSecond", "1e12"), row("constant", "proxyMessageSeconds", "1e-5"),
                row("constant", "pcieBytesPerSecond", "3e10"), row("constant", "link", "rail-400G")));
        for (String mover : new String[] {"nccl", "nvshmem-sm", "nvshmem-ce"}) {
            for (double mib : new double[] {1, 16, 256}) {
                double sent = mib * 1024 * 1024 * 3 / 4;
                double seconds = 20e-6 + sent / 300e9;
                Map<String, String> r = row("all-to-all", mover, Double.toString(sent / seconds / 1e9));
                r.put("ranks", "4");
                r.put("bytes_per_rank", Double.toString(mib * 1024 * 1024));
                rows.add(r);
            }
        }
        for (int d : new int[] {64, 128}) {
            Map<String, String> k = row("kernel", "sf_single", "10");
            k.putAll(Map.of("D", Integer.toString(d), "S", "12800", "H", "100", "B", "1"));
            rows.add(k);
        }
        Map<String, String> layer = row("layer", LayerFit.LAYER_FITTED, "1");
        layer.putAll(Map.of("D", "64", "S", "1024", "H", "4", "B", "1", "mesh", "1x2/ULYSSES:1/2/1"));
        rows.add(layer);
        String file = CalibrateCommand.profileFile(rows, 1, "test rows");
        assertEquals(300e9, value(file, "nvlinkBytesPerSecond"), 1e-3 * 300e9, file);
        assertEquals(20e-6, value(file, "twoSidedOpSeconds"), 1e-9, file);
        assertEquals(20e-6, value(file, "oneSidedOpSeconds"), 1e-9, file);
        assertEquals(300e9, value(file, "copyEngineBytesPerSecond"), 1e-3 * 300e9, file);
        // 10 ms for 100 heads x 100 tiles = 100 waves of 100 SMs, each 4*128*12800*D*100 flops per wave
        assertEquals(100.0 * 4 * 128 * 12800 * 64 * 100 / 10e-3, value(file, "tileFlopsPerSecondD64"), 1e3, file);
    }

    @Test
    void theLayerFitRecoversTheConstantsLayersWereSimulatedWith(@TempDir Path dir) throws IOException {
        List<Map<String, String>> rows = new java.util.ArrayList<>(CalibrateCommand.read(MEASUREMENTS).stream()
                .filter(r -> !r.get("kind").equals("layer")).toList());
        String[][] layers = {{"65536", "24", "2x2/RING:1/1/4"}, {"65536", "24", "2x2/ULYSSES:1/4/1"},
            {"65536", "24", "2x2/STREAMFUSION:2/2/1"}, {"8192", "8", "2x2/USP:1/2/2"},
            {"8192", "8", "2x2/TORUS_TWO_SIDED:2/1/2"}, {"16384", "8", "1x4/RING:1/1/4"}};
        for (String[] l : layers) {
            Map<String, String> r = row("layer", LayerFit.LAYER_FITTED, "1");
            r.putAll(Map.of("D", "128", "S", l[0], "H", l[1], "B", "1", "mesh", l[2]));
            rows.add(r);
        }
        Path fitted = dir.resolve("fitted.properties");
        Files.writeString(fitted, CalibrateCommand.profileFile(rows, 1, "rows"), StandardCharsets.UTF_8);
        HardwareProfile p = HardwareProfile.read(fitted);
        double[] truth = {0.3, 1.04};
        HardwareProfile known = new HardwareProfile(p.name(), 1, p.streamingMultiprocessors(), p.tileFlopsPerSecondD64(),
                p.tileFlopsPerSecondD128(), p.launchSeconds(), p.waveSeconds(), p.memoryBytesPerSecond(),
                p.nvlinkBytesPerSecond(), p.copyEngineBytesPerSecond(), p.twoSidedOpSeconds(), p.oneSidedOpSeconds(),
                truth[0], truth[1], p.proxyMessageSeconds(), p.pcieBytesPerSecond(), p.link());
        for (Map<String, String> r : rows) {
            if (r.get("kind").equals("layer")) {
                r.put("value", Double.toString(CalibrateCommand.predicted(r, known)));
            }
        }
        String file = CalibrateCommand.profileFile(rows, 1, "rows");
        String what = "layers simulated with contention 0.3, factor 1.04:\n" + file;
        assertEquals(truth[0], value(file, "smContention"), 0.02, what);
        assertEquals(truth[1], value(file, "attentionLayerFactor"), 0.002, what);
    }

    @Test
    void theKernelFitRecoversRatesLaunchWaveCostsAndTheSingleLaunchFactorFromRowsPricedWithThem() {
        HardwareProfile h200 = HardwareProfile.h200();
        HardwareProfile known = new HardwareProfile("known", 1, 132, 4.5e14, 6.0e14, 3e-6, 5e-6, 4.3e12, 3e11, 2e11, 7e-5,
                3e-5, 0, 1, 1e-5, 6.4e10, h200.link());
        List<Map<String, String>> rows = new java.util.ArrayList<>();
        String[][] launches = {{"kernel", "64", "16384", ""}, {"kernel", "64", "65536", ""}, {"kernel", "128", "16384", ""},
            {"rank-kernels", "128", "4608", "1x2/RING:1/1/2"}, {"rank-kernels", "128", "4608", "1x8/ULYSSES:1/8/1"},
            {"rank-kernels", "128", "4608", "1x4/STREAMFUSION:1/2/2"}};
        for (String[] l : launches) {
            Map<String, String> r = row(l[0], "test", "1");
            r.putAll(Map.of("D", l[1], "S", l[2], "H", "24", "B", "1", "mesh", l[3]));
            r.put("value", Double.toString(CalibrateCommand.predicted(r, known, 1.08)));
            rows.add(r);
        }
        Map<String, String> value = new java.util.TreeMap<>(Map.of("streamingMultiprocessors", "132",
                "memoryBytesPerSecond", "4.3e12"));
        Map<String, String> source = new java.util.TreeMap<>();
        double singleLaunch = KernelFit.fit(rows, value, source);
        String what = "rows priced at 450/600 TFLOP/s, 3 us a launch, 5 us a wave, single launches 1.08x: " + value;
        // exact rows; the single-launch factor is a golden section to 1e-7, which bounds how exact the rest comes out
        assertEquals(4.5e14, Double.parseDouble(value.get("tileFlopsPerSecondD64")), 1e-6 * 4.5e14, what);
        assertEquals(6.0e14, Double.parseDouble(value.get("tileFlopsPerSecondD128")), 1e-6 * 6.0e14, what);
        assertEquals(3e-6, Double.parseDouble(value.get("launchSeconds")), 1e-11, what);
        assertEquals(5e-6, Double.parseDouble(value.get("waveSeconds")), 1e-11, what);
        assertEquals(1.08, singleLaunch, 1e-6, what);
        assertEquals(new java.util.TreeSet<>(KernelFit.KEYS), source.keySet(), "every fitted key has a source");
        // without the replayed rows, single launches cannot tell a launch's or a wave's cost from the rate: both 0
        Map<String, String> alone = new java.util.TreeMap<>(Map.of("streamingMultiprocessors", "132",
                "memoryBytesPerSecond", "4.3e12"));
        List<Map<String, String>> single = rows.stream().filter(r -> r.get("kind").equals("kernel")).toList();
        assertEquals(1, KernelFit.fit(single, alone, new java.util.TreeMap<>()), "no factor without replayed rows");
        assertEquals(List.of("0", "0"), List.of(alone.get("launchSeconds"), alone.get("waveSeconds")), alone.toString());
    }

    @Test
    void aCostThatComesOutNegativeIsZeroAndTheOthersRefittedUntilNoneIs() {
        // launch + wave: rows (1, 1) -> 1 s and (1, 3) -> 1 s beside given parts of 2 s and 5 s. Unconstrained, the
        // launch cost is 0.5 s and the wave cost -1.5 s; with the wave cost dropped, the launch cost comes out -2.5 s.
        KernelFit.Rows rows = new KernelFit.Rows(new double[][] {{0, 0, 1, 1}, {0, 0, 1, 3}}, new double[] {2, 5},
                new double[] {1, 1}, new boolean[2]);
        double[] x = KernelFit.solve(rows, List.of(2, 3));
        assertEquals(List.of(0.0, 0.0), List.of(x[2], x[3]), java.util.Arrays.toString(x));
        // a cost that is positive stays fitted: 2 s launches and 3 s waves, exactly
        KernelFit.Rows exact = new KernelFit.Rows(new double[][] {{0, 0, 1, 1}, {0, 0, 1, 3}}, new double[] {0, 0},
                new double[] {5, 11}, new boolean[2]);
        double[] fitted = KernelFit.solve(exact, List.of(2, 3));
        assertEquals(2, fitted[2], 1e-12, java.util.Arrays.toString(fitted));
        assertEquals(3, fitted[3], 1e-12, java.util.Arrays.toString(fitted));
    }

    @Test
    void aFileWithoutItsHeaderOrARowKindsConstantIsRefusedNamingIt(@TempDir Path dir) throws IOException {
        Path bad = dir.resolve("bad.csv");
        Files.writeString(bad, "kind,key,value\n");
        InvalidConfigurationException header = assertThrows(InvalidConfigurationException.class,
                () -> CalibrateCommand.read(bad));
        assertTrue(header.getMessage().contains("header kind,key,value"), header.getMessage());
        InvalidConfigurationException missing = assertThrows(InvalidConfigurationException.class,
                () -> CalibrateCommand.profileFile(List.of(row("constant", "name", "x")), 1, "rows"));
        assertTrue(missing.getMessage().contains("streamingMultiprocessors"), missing.getMessage());
    }

    @Test
    void aConstantThatRowsAlsoFitAndLayerRowsBesideSpeedupRowsAreRefusedNamingThem() throws IOException {
        List<Map<String, String>> rows = new java.util.ArrayList<>(CalibrateCommand.read(MEASUREMENTS));
        rows.add(row("constant", "nvlinkBytesPerSecond", "3e11"));
        InvalidConfigurationException both = assertThrows(InvalidConfigurationException.class,
                () -> CalibrateCommand.profileFile(rows, 1, "rows"));
        assertTrue(both.getMessage().contains("nvlinkBytesPerSecond beside all-to-all rows"), both.getMessage());
        List<Map<String, String>> mixed = new java.util.ArrayList<>(CalibrateCommand.read(MEASUREMENTS));
        mixed.add(CalibrateCommand.read(PAPER).stream().filter(r -> r.get("kind").equals("speedup")).findFirst()
                .orElseThrow());
        InvalidConfigurationException fits = assertThrows(InvalidConfigurationException.class,
                () -> CalibrateCommand.profileFile(mixed, 1, "rows"));
        assertTrue(fits.rule().contains("not both"), fits.getMessage());
    }

    private static Map<String, String> row(String kind, String key, String value) {
        Map<String, String> r = new java.util.HashMap<>();
        for (String column : CalibrateCommand.HEADER) {
            r.put(column, "");
        }
        r.putAll(Map.of("kind", kind, "key", key, "value", value, "source", "a test row", "date", "today"));
        return r;
    }

    private static double value(String file, String key) {
        return Double.parseDouble(file.lines().filter(l -> l.startsWith(key + "=")).findFirst().orElseThrow()
                .substring(key.length() + 1));
    }
}
