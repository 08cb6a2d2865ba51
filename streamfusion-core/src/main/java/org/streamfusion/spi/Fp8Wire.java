package org.streamfusion.spi;

import org.streamfusion.DType;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.backend.Buffer;

/**
 * The e4m3 codec inside the centred wire of {@link Fp8Layout}, and the plain block format of
 * {@code sf_fp8_quantize} (csrc/include/streamfusion.h):
 * {@code n} elements in blocks of {@code block} travel as {@code n} e4m3 bytes, then, from byte
 * {@link #scalesOffset}, one fp32 scale per block. A wire buffer is held as fp32 elements and is a whole
 * number of 16 bytes, so that wires cut from one allocation stay aligned for the kernels.
 */
public final class Fp8Wire {
    /** The largest value e4m3 represents; a block's scale maps its amax onto it. */
    public static final float E4M3_MAX = 448f;
    /** The e4m3 NaN, which non-finite values become. */
    public static final byte E4M3_NAN = 0x7F;
    /** {@code SF_FP8_MAX_BLOCK}. */
    public static final int MAX_BLOCK = 4096;

    private Fp8Wire() {
    }

    /** Byte offset of the scales: {@code n} rounded up to 16. */
    public static long scalesOffset(long n) {
        return (n + 15) / 16 * 16;
    }

    /** Bytes on the wire for {@code n} elements in blocks of {@code block}, rounded up to 16. */
    public static long bytes(long n, int block) {
        check(n, block);
        return (scalesOffset(n) + 4 * (n / block) + 15) / 16 * 16;
    }

    /** The fp32 elements a wire buffer for {@code n} elements needs. */
    public static long elements(long n, int block) {
        return bytes(n, block) / DType.F32.bytes();
    }

    /** Throws unless {@code n} is a positive multiple of {@code block} and the block is in range. */
    public static void check(long n, int block) {
        if (block < 1 || block > MAX_BLOCK) {
            throw new InvalidArgumentException("fp8 block of " + block + " elements is outside [1, " + MAX_BLOCK + "]");
        }
        if (n < 1 || n % block != 0) {
            throw new InvalidArgumentException("fp8 wire of " + n + " elements is not a positive multiple of its block of "
                    + block + " (one head's D values)");
        }
    }

    /** Throws unless {@code wire} is an fp32 buffer large enough for {@code tensor} in blocks of {@code block}. */
    public static void checkPair(Buffer tensor, Buffer wire, int block) {
        long need = elements(tensor.length(), block);
        if (wire.dtype() != DType.F32 || wire.length() < need) {
            throw new InvalidArgumentException("fp8 wire of " + wire.length() + " " + wire.dtype() + " elements cannot hold "
                    + tensor.length() + " elements in blocks of " + block + ": needs " + need + " F32 elements");
        }
    }

    /**
     * A block's scale: {@code amax/448} of its finite values, in fp32, at least the smallest fp32 denormal (an
     * amax below {@code 448 * 2^-149} would give 0 and then 0/0); 1 when none is non-zero.
     */
    public static float scale(float finiteAmax) {
        return finiteAmax > 0f ? Math.max(finiteAmax / E4M3_MAX, Float.MIN_VALUE) : 1f;
    }

    /**
     * e4m3 (OCP E4M3FN: bias 7, no infinity) of {@code x}: round to nearest even, saturating at +-448; NaN and
     * infinities become {@link #E4M3_NAN}. What {@code __nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3)}
     * gives for a finite {@code x}.
     */
    public static byte encode(float x) {
        if (!Float.isFinite(x)) {
            return E4M3_NAN;
        }
        int sign = (Float.floatToRawIntBits(x) >>> 31) << 7;
        double a = Math.abs((double) x);
        int bits;
        if (a < 0x1p-6) {
            bits = (int) Math.rint(a * 0x1p9); // subnormals in units of 2^-9; 8 units is the smallest normal
        } else {
            int exponent = Math.getExponent(a);
            int mantissa = (int) Math.rint((a / Math.scalb(1.0, exponent) - 1.0) * 8);
            if (mantissa == 8) {
                exponent++;
                mantissa = 0;
            }
            bits = (exponent + 7) << 3 | mantissa;
        }
        return (byte) (sign | Math.min(bits, 0x7E)); // 0x7F is NaN: saturate at 448
    }

    /** The value of an e4m3 byte. */
    public static float decode(byte q) {
        int b = q & 0xFF;
        int exponent = b >> 3 & 0xF;
        int mantissa = b & 7;
        if (exponent == 15 && mantissa == 7) {
            return Float.NaN;
        }
        float v = exponent == 0 ? mantissa * 0x1p-9f : (1 + mantissa / 8f) * Math.scalb(1f, exponent - 7);
        return (b & 0x80) != 0 ? -v : v;
    }
}
