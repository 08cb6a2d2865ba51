package org.streamfusion;

/**
 * Element type of buffers. Q, K, V and O are {@code BF16}, {@code F16} or {@code F32}; {@code F64} is only the
 * attention state of the CPU reference backend (the GPU keeps its state in fp32), never a tensor's type.
 */
public enum DType {
    /** bfloat16: 8-bit exponent, 7-bit mantissa; 2 bytes. */
    BF16(2),
    /** IEEE 754 half precision; 2 bytes. */
    F16(2),
    /** IEEE 754 single precision; 4 bytes. */
    F32(4),
    /** IEEE 754 double precision; 8 bytes. Only the CPU reference backend's attention state. */
    F64(8);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** {@return bytes per element} */
    public int bytes() {
        return bytes;
    }
}
