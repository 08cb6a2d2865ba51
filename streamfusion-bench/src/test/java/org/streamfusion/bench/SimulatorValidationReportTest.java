package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The simulator's predicted-against-measured plot and table are drawn from every measured layer row. */
class SimulatorValidationReportTest {
    @Test
    void thePlotAndTheTableCoverEveryMeasuredLayer(@TempDir Path dir) throws Exception {
        Path measurements = Path.of("..", "docs", "results", "h200-measurements.csv");
        long layers = CalibrateCommand.read(measurements).stream().filter(r -> r.get("kind").equals("layer")).count();
        assertTrue(layers >= 48, layers + " layer rows");
        List<Path> written = SimulatorValidationReport.write(measurements, dir.resolve("report"));
        BufferedImage png = ImageIO.read(written.get(0).toFile());
        assertEquals(SimulatorValidationReport.SIZE, png.getWidth());
        String table = Files.readString(written.get(1));
        assertEquals(2 + layers, table.lines().filter(l -> l.startsWith("|")).count(), table);
        assertTrue(table.contains("median absolute error at S=65536 H=24"), table);
    }
}
