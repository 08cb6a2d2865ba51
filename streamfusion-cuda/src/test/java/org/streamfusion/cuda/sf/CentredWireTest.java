package org.streamfusion.cuda.sf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.bindings.sf.Streamfusion;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.cuda.loader.NativeLibrary;
import org.streamfusion.cuda.loader.NativeLoader;
import org.streamfusion.spi.Fp8Layout;

/**
 * The centred e4m3 wire's C side agrees with {@link Fp8Layout} (slots and limit), and libstreamfusion refuses
 * bad rows, sizes and scales with the value before anything is launched. Needs the library, not a GPU.
 */
class CentredWireTest {
    @Test
    void theHeaderStatesTheSameSlotsAndLimitAsTheJavaLayout() {
        assertEquals(Fp8Layout.BLOCKS_PER_SLOT, Streamfusion.SF_FP8C_BLOCKS_PER_SLOT());
        assertEquals(Fp8Layout.LOGIT_ERROR_LIMIT, Streamfusion.SF_FP8C_LOGIT_ERROR_LIMIT());
    }

    @Test
    void badRowsSizesAndScalesAreRefusedWithTheValue() {
        var failure = NativeLoader.global().tryLoad(NativeLibrary.STREAMFUSION);
        assumeTrue(failure.isEmpty(), () -> "libstreamfusion not loadable: " + failure.get().getMessage());
        CudaStream stream = CudaStream.legacyDefault();
        MemorySegment p = MemorySegment.ofAddress(4096).reinterpret(1 << 16);
        var rows = assertThrows(InvalidArgumentException.class, () -> SfKernels.fp8QuantizeCentred(p,
                SfKernels.ElementType.BF16, p, 96, 32, 48, 1.0, p, stream));
        assertTrue(rows.getMessage().contains("row = 48") && rows.getMessage().contains("block = 32"), rows.getMessage());
        var size = assertThrows(InvalidArgumentException.class, () -> SfKernels.fp8DequantizeCentred(p, p,
                SfKernels.ElementType.BF16, 96, 32, 64, stream));
        assertTrue(size.getMessage().contains("n = 96"), size.getMessage());
        var scale = assertThrows(InvalidArgumentException.class, () -> SfKernels.fp8QuantizeCentred(p,
                SfKernels.ElementType.BF16, p, 64, 32, 32, 0.0, p, stream));
        assertTrue(scale.getMessage().contains("softmax_scale = 0"), scale.getMessage());
        var counts = assertThrows(InvalidArgumentException.class, () -> SfKernels.fp8QuantizeCentred(p,
                SfKernels.ElementType.BF16, p, 64, 32, 32, 1.0, MemorySegment.ofAddress(0), stream));
        assertTrue(counts.getMessage().contains("counts is NULL"), counts.getMessage());
    }
}
