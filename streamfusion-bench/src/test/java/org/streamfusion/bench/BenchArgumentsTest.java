package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The GPU checks' arguments that can be refused without a GPU: named, never silently taken as something else. */
class BenchArgumentsTest {
    @Test
    void gpuCheckTakesOnlyCheckOrNocheckAsItsSixthArgument() {
        assertTrue(GpuCheck.checkMode(new String[] {"1x2", "1024", "8", "128", "20"}));
        assertTrue(GpuCheck.checkMode(new String[] {"1x2", "1024", "8", "128", "20", "check"}));
        assertFalse(GpuCheck.checkMode(new String[] {"1x2", "1024", "8", "128", "20", "nocheck", "fp8"}));
        var e = assertThrows(IllegalArgumentException.class,
                () -> GpuCheck.checkMode(new String[] {"1x2", "1024", "8", "128", "20", "chek"}));
        assertEquals("check mode 'chek' is not check or nocheck", e.getMessage());
    }

    @Test
    void gpuCheckTakesAutoSeparateOrBothAsItsEighthArgument() {
        String[] base = {"1x2", "4608", "24", "128", "20", "check", "exact"};
        assertEquals("auto", GpuCheck.qkvMode(base));
        String[] both = java.util.Arrays.copyOf(base, 8);
        both[7] = "both";
        assertEquals("both", GpuCheck.qkvMode(both));
        both[7] = "grouped";
        var e = assertThrows(IllegalArgumentException.class, () -> GpuCheck.qkvMode(both));
        assertEquals("Q,K,V exchange 'grouped' is not auto, separate or both", e.getMessage());
    }

    @Test
    void theOneLayerChecksShareTheirLeadingArgumentsAndRefuseACountBelowOne() {
        LayerArgs defaults = LayerArgs.parse(new String[0], "1x2", 40, "ROUNDS");
        assertEquals(org.streamfusion.Topology.of(1, 2), defaults.topology());
        assertEquals(org.streamfusion.AttentionShape.of(1, 4608, 24, 128, org.streamfusion.DType.BF16), defaults.shape());
        assertEquals(40, defaults.count());
        LayerArgs given = LayerArgs.parse(new String[] {"2x1", "16896", "8", "64", "3"}, "1x2", 40, "ROUNDS");
        assertEquals(org.streamfusion.AttentionShape.of(1, 16896, 8, 64, org.streamfusion.DType.BF16), given.shape());
        assertEquals(3, given.count());
        var e = assertThrows(IllegalArgumentException.class,
                () -> LayerArgs.parse(new String[] {"1x1", "4608", "24", "128", "0"}, "1x1", 20, "REPS"));
        assertEquals("REPS 0 must be at least 1", e.getMessage());
    }

    @Test
    void aMedianOfFewerThanOneRoundIsRefusedBeforeAnythingRuns() {
        for (int reps : new int[] {0, -1}) {
            var e = assertThrows(IllegalArgumentException.class, () -> LayerTiming.medianRoundMillis(() -> {
                throw new AssertionError("ran a round");
            }, () -> {
                throw new AssertionError("ran the barrier");
            }, null, reps, 1));
            assertEquals("reps=" + reps + ": a median needs at least one timed round", e.getMessage());
        }
    }
}
