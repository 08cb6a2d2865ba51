package org.streamfusion.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.gpu.GpuOptions.OneSidedMover;

class GpuOptionsTest {
    @Test
    void moverNamesParseInEitherSpellingAndAnUnknownOneNamesTheRule() {
        assertEquals(OneSidedMover.SM_KERNEL, OneSidedMover.parse("sm-kernel"));
        assertEquals(OneSidedMover.COPY_ENGINE, OneSidedMover.parse("COPY_ENGINE"));
        assertEquals(OneSidedMover.COPY_ENGINE, OneSidedMover.parse(OneSidedMover.COPY_ENGINE.toString()));
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class,
                () -> OneSidedMover.parse("dma"));
        assertTrue(e.getMessage().contains("'dma'") && e.getMessage().contains("sm-kernel or copy-engine"), e.getMessage());
    }

    @Test
    void defaultsDoNotNanFillAllocationsAndWithPoisonTurnsItOnAlone() {
        assumeTrue(System.getProperty(GpuOptions.POISON_PROPERTY) == null, "the poison property is set for this JVM");
        GpuOptions d = GpuOptions.defaults();
        assertEquals(false, d.poison(), "the production path makes no memset per allocation");
        GpuOptions poisoned = d.withPoison(true);
        assertEquals(true, poisoned.poison());
        assertEquals(d, poisoned.withPoison(false), "withPoison changes nothing else");
    }

    @Test
    void defaultsPushWithTheSmKernelAndPullWithCopyEnginesAndWithMoversChangesOnlyThose() {
        assumeTrue(System.getProperty("streamfusion.push") == null && System.getProperty("streamfusion.pull") == null
                && System.getProperty("streamfusion.ncclRingLane") == null, "mover properties set for this JVM");
        GpuOptions d = GpuOptions.defaults();
        assertTrue(d.ringLane());
        assertEquals(OneSidedMover.SM_KERNEL, d.push());
        assertEquals(OneSidedMover.COPY_ENGINE, d.pull());
        GpuOptions swapped = d.withMovers(OneSidedMover.COPY_ENGINE, OneSidedMover.SM_KERNEL);
        assertEquals(new GpuOptions(d.timeout(), d.nvshmem(), d.poison(), OneSidedMover.COPY_ENGINE, OneSidedMover.SM_KERNEL,
                true), swapped);
        assertEquals(false, swapped.withRingLane(false).ringLane());
        assertEquals(OneSidedMover.COPY_ENGINE, swapped.withRingLane(false).push());
        assertThrows(InvalidConfigurationException.class,
                () -> new GpuOptions(Duration.ofSeconds(1), true, true, null, OneSidedMover.SM_KERNEL, true));
        assertThrows(InvalidConfigurationException.class,
                () -> new GpuOptions(Duration.ZERO, true, true, OneSidedMover.SM_KERNEL, OneSidedMover.SM_KERNEL, true));
    }

    @Test
    void timeoutsOutsideZeroToSevenDaysAreRefusedWithTheValue() {
        GpuOptions g = GpuOptions.defaults();
        for (Duration d : java.util.List.of(Duration.ofMillis(Long.MAX_VALUE / 3), Duration.ofSeconds(Long.MAX_VALUE),
                Duration.ZERO, Duration.ofNanos(-1), Duration.ofDays(7).plusNanos(1))) {
            var e = assertThrows(InvalidConfigurationException.class,
                    () -> new GpuOptions(d, g.nvshmem(), g.poison(), g.push(), g.pull(), g.ringLane()), d::toString);
            assertTrue(e.getMessage().contains(d.toString()), e.getMessage());
        }
    }
}
