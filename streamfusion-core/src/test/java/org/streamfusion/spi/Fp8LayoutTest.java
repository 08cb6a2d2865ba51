package org.streamfusion.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.streamfusion.InvalidArgumentException;

/** The centred wire's layout and its limit, as docs/algorithms.md, section 7 states them. */
class Fp8LayoutTest {
    @Test
    void aFluxSizedChunkTakesAboutHalfTheBytesOfBf16() {
        // 4096 tokens of 24 heads x 128 (a Flux layer's shard on 1 of 8 GPUs): codes, scales, slots, centres.
        Fp8Layout layout = new Fp8Layout(4096L * 24 * 128, 128, 24 * 128, 1 / Math.sqrt(128));
        double perElement = (double) layout.bytes() / layout.elements();
        assertEquals(1 + 4.0 / 128 + 2.0 / 32 + 4.0 / 4096, perElement, 1e-6);
        double againstBf16 = perElement / 2;
        assertTrue(againstBf16 > 0.54 && againstBf16 < 0.55, "ratio to bf16 " + againstBf16);
        assertEquals(layout.bytes() / 4, layout.wireElements());
    }

    @Test
    void everyPartStartsOn16BytesAndTheSlotsRoundUp() {
        Fp8Layout layout = new Fp8Layout(3 * 40, 40, 40, 0.1); // 3 tokens of one head of 40: 3 blocks, 1 slot
        assertEquals(1, layout.patchSlots());
        assertEquals(128, layout.scalesOffset());
        assertEquals(144, layout.centresOffset());
        assertEquals(304, layout.patchesOffset());
        assertEquals(384, layout.bytes());
    }

    @Test
    void theLimitIsOnTheEstimatedLogitError() {
        Fp8Layout layout = new Fp8Layout(64L * 64, 64, 64, 0.125);
        // A Gaussian block: |x| = |x - c| = 8, estimate 0.036 * 0.125 * 64 / 8 = 0.036.
        assertEquals(Fp8Layout.ROUNDING_RMS * 0.125 * 8, layout.logitError(64, 64), 1e-12);
        assertFalse(layout.overLimit(64, 64));
        // c = 1000 +- 1e-3 after centring: |x| = 8000, |x - c| = 8 * 5.8e-4.
        assertFalse(layout.overLimit(64e6, 64 * 5.8e-4 * 5.8e-4));
        // c = 1000 + N(0, 1) on the bf16 grid: the spread is 1, so queries of norm 8000 make logit errors of about 1.
        assertTrue(layout.overLimit(64e6, 64));
    }

    @Test
    void rowsThatAreNotWholeBlocksOrDoNotDivideTheChunkAreRefused() {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> new Fp8Layout(96, 32, 48, 1));
        assertTrue(e.getMessage().contains("rows of 48") && e.getMessage().contains("blocks of 32"), e.getMessage());
        assertThrows(InvalidArgumentException.class, () -> new Fp8Layout(96, 32, 64, 1));
        assertThrows(InvalidArgumentException.class, () -> new Fp8Layout(96, 32, 32, 0));
        assertThrows(InvalidArgumentException.class, () -> new Fp8Layout(96, 32, 32, Double.POSITIVE_INFINITY));
        assertThrows(InvalidArgumentException.class, () -> new Fp8Layout(100, 32, 32, 1), "not whole blocks");
    }
}
