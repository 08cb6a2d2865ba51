package org.streamfusion;

/**
 * Element type of buffers. Q, K, V and O are {@code BF16}, {@code F16} or {@code F32}; {@code F64} is only the
 * attention state of the CPU reference backend (the GPU keeps its state in fp32), never a tensor's type.
 */
public enum DType {
    BF16(2), F16(2), F32(4), F64(8);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }
}
