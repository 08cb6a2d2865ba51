package org.streamfusion.cuda.nccl;

import org.streamfusion.bindings.nccl.Nccl;

/** {@code ncclDataType_t} values with their element sizes. */
public enum NcclDataType {
    INT8(1), UINT8(1), INT32(4), UINT32(4), INT64(8), UINT64(8), FLOAT16(2), FLOAT32(4), FLOAT64(8), BFLOAT16(2);

    private final int byteSize;

    NcclDataType(int byteSize) {
        this.byteSize = byteSize;
    }

    public int byteSize() {
        return byteSize;
    }

    /** The native value, read from the generated constants (no library needed). */
    public int nativeValue() {
        return switch (this) {
            case INT8 -> Nccl.ncclInt8();
            case UINT8 -> Nccl.ncclUint8();
            case INT32 -> Nccl.ncclInt32();
            case UINT32 -> Nccl.ncclUint32();
            case INT64 -> Nccl.ncclInt64();
            case UINT64 -> Nccl.ncclUint64();
            case FLOAT16 -> Nccl.ncclFloat16();
            case FLOAT32 -> Nccl.ncclFloat32();
            case FLOAT64 -> Nccl.ncclFloat64();
            case BFLOAT16 -> Nccl.ncclBfloat16();
        };
    }
}
