package org.streamfusion;

/** Element type of Q, K, V and O. Attention state is always fp32. */
public enum DType {
    BF16(2), F16(2), F32(4);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }
}
