package org.streamfusion.spi;

/**
 * bf16 bits and floats, one rounding for the whole library: the CPU path's FP8 slots and the CUDA backend's host
 * copies both use it, and the CUDA kernels write the same bits.
 */
public final class Bf16 {
    /** bf16's quiet NaN: every NaN becomes it (a NaN's payload is the arithmetic's, a GPU's differs from a CPU's). */
    public static final short QUIET_NAN = 0x7FC0;

    private Bf16() {
    }

    /**
     * {@code x} as bf16 bits, round to nearest even; infinities stay infinite.
     *
     * @param x the value
     * @return its bf16 bits; any NaN is {@link #QUIET_NAN}
     */
    public static short fromFloat(float x) {
        if (Float.isNaN(x)) {
            return QUIET_NAN;
        }
        int bits = Float.floatToRawIntBits(x);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /**
     * The exact widening of bf16 bits.
     *
     * @param bits the bf16 bits
     * @return the value as a float
     */
    public static float toFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }
}
