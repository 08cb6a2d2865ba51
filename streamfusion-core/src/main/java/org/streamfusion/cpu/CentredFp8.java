package org.streamfusion.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import org.streamfusion.spi.Bf16;
import org.streamfusion.spi.Fp8Layout;
import org.streamfusion.spi.Fp8Wire;

/**
 * The centred e4m3 wire ({@link Fp8Layout}) on fp32 memory: what {@code sf_fp8_quantize_centred} and
 * {@code sf_fp8_dequantize_centred} do on a GPU, in the same fp32 operations (a centred value is
 * {@code x - c}, a received one {@code decode * scale + c}, each rounded once), so that both give the same bits.
 */
final class CentredFp8 {
    /** The two counters are int64 in an F64 buffer, added to atomically: two streams may quantise at once. */
    private static final VarHandle COUNTER = ValueLayout.JAVA_LONG.varHandle();

    private CentredFp8() {
    }

    static void quantize(MemorySegment src, MemorySegment wire, Fp8Layout layout, MemorySegment counts) {
        int row = layout.rowElements();
        int block = layout.block();
        float[] centre = centres(src, layout);
        MemorySegment.copy(centre, 0, wire, ValueLayout.JAVA_FLOAT, layout.centresOffset(), row);
        long slot = 0;
        long over = 0;
        long scales = layout.scalesOffset();
        for (long b = 0; b < layout.blocks(); b++) {
            long first = b * block;
            int channel = (int) (first % row);
            double sumSquares = 0;
            double centredSumSquares = 0;
            float amax = 0f;
            for (int i = 0; i < block; i++) {
                float x = src.getAtIndex(CpuBuffer.F32, first + i);
                float y = x - centre[channel + i];
                if (Float.isFinite(x)) {
                    sumSquares += (double) x * x;
                }
                if (Float.isFinite(y)) {
                    centredSumSquares += (double) y * y;
                    amax = Math.max(amax, Math.abs(y));
                }
            }
            if (layout.overLimit(sumSquares, centredSumSquares)) {
                if (slot < layout.patchSlots()) {
                    wire.set(ValueLayout.JAVA_FLOAT, scales + 4 * b, -(float) (slot + 1));
                    long patch = layout.patchesOffset() + 2 * slot * block;
                    for (int i = 0; i < block; i++) {
                        wire.set(ValueLayout.JAVA_BYTE, first + i, (byte) 0);
                        wire.set(ValueLayout.JAVA_SHORT_UNALIGNED, patch + 2L * i,
                                toBf16(src.getAtIndex(CpuBuffer.F32, first + i) - centre[channel + i]));
                    }
                    slot++;
                    continue;
                }
                over++;
            }
            float scale = Fp8Wire.scale(amax);
            wire.set(ValueLayout.JAVA_FLOAT, scales + 4 * b, scale);
            for (int i = 0; i < block; i++) {
                float y = src.getAtIndex(CpuBuffer.F32, first + i) - centre[channel + i];
                wire.set(ValueLayout.JAVA_BYTE, first + i, Fp8Wire.encode(y / scale));
            }
        }
        COUNTER.getAndAdd(counts, 0L, slot);
        COUNTER.getAndAdd(counts, 8L, over);
    }

    static void dequantize(MemorySegment wire, MemorySegment dst, Fp8Layout layout) {
        int row = layout.rowElements();
        int block = layout.block();
        long scales = layout.scalesOffset();
        long centres = layout.centresOffset();
        for (long b = 0; b < layout.blocks(); b++) {
            long first = b * block;
            int channel = (int) (first % row);
            float scale = wire.get(ValueLayout.JAVA_FLOAT, scales + 4 * b);
            long patch = layout.patchesOffset() + 2 * ((long) -scale - 1) * block;
            for (int i = 0; i < block; i++) {
                float c = wire.get(ValueLayout.JAVA_FLOAT, centres + 4L * (channel + i));
                float y = scale < 0 ? fromBf16(wire.get(ValueLayout.JAVA_SHORT_UNALIGNED, patch + 2L * i))
                        : Fp8Wire.decode(wire.get(ValueLayout.JAVA_BYTE, first + i)) * scale;
                dst.setAtIndex(CpuBuffer.F32, first + i, y + c);
            }
        }
    }

    /**
     * Each channel's mean over the chunk's tokens, of its finite values, accumulated in float64 from the first
     * finite value (so that a large shared offset does not cancel the spread), rounded to fp32; 0 where the
     * channel has no finite value or one at or above {@link Fp8Layout#CENTRE_LIMIT}.
     */
    static float[] centres(MemorySegment src, Fp8Layout layout) {
        int row = layout.rowElements();
        long tokens = layout.tokens();
        float[] centre = new float[row];
        for (int c = 0; c < row; c++) {
            double shift = 0;
            double sum = 0;
            long count = 0;
            float amax = 0f;
            for (long t = 0; t < tokens; t++) {
                float x = src.getAtIndex(CpuBuffer.F32, t * row + c);
                if (Float.isFinite(x)) {
                    if (count == 0) {
                        shift = x;
                    }
                    sum += x - shift;
                    count++;
                    amax = Math.max(amax, Math.abs(x));
                }
            }
            centre[c] = count == 0 || amax >= Fp8Layout.CENTRE_LIMIT ? 0f : (float) (shift + sum / count);
        }
        return centre;
    }

    /** bf16 of {@code x} ({@link Bf16#fromFloat}): every NaN is the one quiet NaN, as the CUDA kernels write it. */
    static short toBf16(float x) {
        return Bf16.fromFloat(x);
    }

    /** bf16's quiet NaN. */
    static final short CANONICAL_NAN = Bf16.QUIET_NAN;

    static float fromBf16(short b) {
        return Bf16.toFloat(b);
    }
}
