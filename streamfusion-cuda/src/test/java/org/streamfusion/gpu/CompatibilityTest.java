package org.streamfusion.gpu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.gpu.Compatibility.Found;
import org.streamfusion.gpu.Compatibility.Version;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The join's host check against the shipped table, with the versions supplied here instead of by a GPU. */
class CompatibilityTest {
    private static final Compatibility TABLE = Compatibility.table();

    /** The GPU machine the project measures on: H200, driver for CUDA 13.0, NCCL 2.28.9, NVSHMEM 3.4.5. */
    private static Found h200() {
        return new Found(Version.ofComputeCapability(90), Version.ofCuda(13000), Version.ofCuda(13000),
                Version.ofNccl(22809), Version.parse("3.4.5"));
    }

    @Test
    void theMeasuredHostAndLaterArchitecturesPass() {
        assertEquals(List.of(), TABLE.shortfalls(h200()));
        for (int capability : new int[] {80, 86, 89, 90, 100, 120}) {
            Found found = new Found(Version.ofComputeCapability(capability), Version.ofCuda(13010),
                    Version.ofCuda(13000), Version.ofNccl(22807), null);
            assertEquals(List.of(), TABLE.shortfalls(found), "compute capability " + capability);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "a Turing GPU           | 75 | 13000 | 13000 | 22809 | 3.4.5 | GPU compute capability 7.5 is older than 8.0",
            "a CUDA 12.8 driver     | 90 | 12080 | 13000 | 22809 | 3.4.5 | CUDA version the driver supports 12.8 is older than 13.0",
            "a CUDA 12 runtime      | 90 | 13000 | 12090 | 22809 | 3.4.5 | CUDA runtime 12.9 is older than 13.0",
            "NCCL 2.27.7            | 90 | 13000 | 13000 | 22707 | 3.4.5 | NCCL 2.27.7 is older than 2.28.0",
            "NCCL 3.0.0             | 90 | 13000 | 13000 | 30000 | 3.4.5 | NCCL 3.0.0 is not older than 3.0.0",
            "NVSHMEM 3.3.9          | 90 | 13000 | 13000 | 22809 | 3.3.9 | NVSHMEM 3.3.9 is older than 3.4.0",
    })
    void eachShortfallIsRefusedWithTheVersionFoundAndNeeded(String host, int capability, int driver, int runtime,
                                                            int nccl, String nvshmem, String expected) {
        Found found = new Found(Version.ofComputeCapability(capability), Version.ofCuda(driver), Version.ofCuda(runtime),
                Version.ofNccl(nccl), Version.parse(nvshmem));
        assertEquals(List.of(expected), TABLE.shortfalls(found), host);
        var e = assertThrows(InvalidConfigurationException.class, () -> TABLE.check(found, 3, 1));
        assertTrue(e.getMessage().startsWith("rank 3 on GPU 1 cannot run StreamFusion-J: " + expected), e.getMessage());
        assertTrue(e.rule().contains("NCCL in [2.28.0, 3.0.0)") && e.rule().contains("GPU compute capability >= 8.0")
                && e.rule().contains("compatibility.properties"), e.rule());
    }

    @Test
    void everyShortfallIsNamedAtOnceAndNvshmemOnlyWhenUsed() {
        Found old = new Found(Version.ofComputeCapability(70), Version.ofCuda(12040), Version.ofCuda(13000),
                Version.ofNccl(21805), null);
        var e = assertThrows(InvalidConfigurationException.class, () -> TABLE.check(old, 0, 0));
        assertEquals(3, TABLE.shortfalls(old).size(), e.getMessage());
        assertTrue(e.getMessage().contains("found GPU compute capability 7.0, CUDA version the driver supports 12.4,"
                + " CUDA runtime 13.0, NCCL 2.18.5)"), e.getMessage());
        assertTrue(!e.rule().contains("NVSHMEM"), "a rank without NVSHMEM is not held to its version: " + e.rule());
    }

    @Test
    void versionsDecodeAndOrderAsTheLibrariesEncodeThem() {
        assertEquals("2.28.7", Version.ofNccl(22807).toString());
        assertEquals("13.0", Version.ofCuda(13000).toString());
        assertEquals("12.8", Version.ofCuda(12080).toString());
        assertEquals("9.0", Version.ofComputeCapability(90).toString());
        assertTrue(Version.parse("2.28.10").compareTo(Version.parse("2.28.9")) > 0);
        assertTrue(Version.parse("13.0").compareTo(Version.parse("13.0.0")) == 0);
        assertTrue(Version.parse("10.0").compareTo(Version.parse("9.0")) > 0);
        assertThrows(InvalidArgumentException.class, () -> Version.parse("13"));
        assertThrows(InvalidArgumentException.class, () -> Version.parse("13.x"));
    }
}
