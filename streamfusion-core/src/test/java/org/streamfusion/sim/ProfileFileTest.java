package org.streamfusion.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.streamfusion.InterMachineLink;
import org.streamfusion.InvalidConfigurationException;

/** Profiles are data: the shipped files name every constant's source, and a file without one is refused naming it. */
class ProfileFileTest {
    @Test
    void theShippedProfilesLoadWithTheirNamesVersionsAndLinks() {
        HardwareProfile h200 = HardwareProfile.h200();
        assertEquals("h200", h200.name());
        assertEquals(6, h200.version());
        assertEquals(InterMachineLink.rail400G(), h200.link());
        HardwareProfile a100 = HardwareProfile.a100();
        assertEquals(List.of("a100", 2, 108, InterMachineLink.p4de400G()), List.of(a100.name(), a100.version(),
                a100.streamingMultiprocessors(), a100.link()));
        assertEquals(h200, HardwareProfile.named(" H200 "));
    }

    @Test
    void aFileIsReadByNameOneMissingASourceIsRefusedNamingTheKeyAndOneWithoutTheWaveCostReadsAsNone(@TempDir Path dir) throws IOException {
        StringBuilder text = new StringBuilder();
        Object[] values = {"mine", 3, 100, 4e14, 6e14, 2e-6, 5e-6, 3e12, 300e9, 200e9, 50e-6, 25e-6, 0.25, 1.05, 8e-6, 30e9,
            "eth-100G,proxy"};
        for (int i = 0; i < values.length; i++) {
            String key = HardwareProfile.FILE_KEYS.get(i);
            text.append(key).append('=').append(values[i]).append('\n');
            text.append(key).append(".source=measured here, row ").append(i).append('\n');
        }
        Path file = dir.resolve("mine.properties");
        Files.writeString(file, text, StandardCharsets.UTF_8);
        HardwareProfile mine = HardwareProfile.named(file.toString());
        assertEquals(new HardwareProfile("mine", 3, 100, 4e14, 6e14, 2e-6, 5e-6, 3e12, 300e9, 200e9, 50e-6, 25e-6, 0.25,
                1.05, 8e-6, 30e9, InterMachineLink.ethernet100G().withProxyDriven(true)), mine);
        Files.writeString(file, text.toString().replace("twoSidedOpSeconds.source=measured here, row 10\n", ""));
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class, () -> HardwareProfile.read(file));
        assertTrue(e.getMessage().contains("twoSidedOpSeconds.source=null"), e.getMessage());
        InvalidConfigurationException unknown = assertThrows(InvalidConfigurationException.class,
                () -> HardwareProfile.named("b200"));
        assertTrue(unknown.rule().contains("h200, a100, or a profile file"), unknown.getMessage());
        // a file written before the wave cost existed reads with none, as its own version priced kernels
        Files.writeString(file, text.toString().replace("waveSeconds=5.0E-6\n", "")
                .replace("waveSeconds.source=measured here, row 6\n", ""));
        assertEquals(new HardwareProfile("mine", 3, 100, 4e14, 6e14, 2e-6, 0, 3e12, 300e9, 200e9, 50e-6, 25e-6, 0.25,
                1.05, 8e-6, 30e9, InterMachineLink.ethernet100G().withProxyDriven(true)), HardwareProfile.read(file));
        Files.writeString(file, text.toString().replace("waveSeconds.source=measured here, row 6\n", ""));
        assertThrows(InvalidConfigurationException.class, () -> HardwareProfile.read(file), "a wave cost without its source");
    }
}
