package org.streamfusion.cuda.nccl;

import org.streamfusion.bindings.nccl.Nccl;

/** Built-in {@code ncclRedOp_t} values. */
public enum NcclRedOp {
    SUM, PROD, MAX, MIN, AVG;

    public int nativeValue() {
        return switch (this) {
            case SUM -> Nccl.ncclSum();
            case PROD -> Nccl.ncclProd();
            case MAX -> Nccl.ncclMax();
            case MIN -> Nccl.ncclMin();
            case AVG -> Nccl.ncclAvg();
        };
    }
}
