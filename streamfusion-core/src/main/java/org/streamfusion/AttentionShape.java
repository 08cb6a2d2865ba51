package org.streamfusion;

/**
 * The global attention problem: {@code B} sequences of {@code S} tokens, {@code H} heads of width {@code D}.
 * Every Q, K, V, O shard is laid out {@code [B, S_local, H_local, D]}, row-major.
 *
 * @param batch        sequences {@code B}, at least 1
 * @param seqLen       tokens {@code S} of one whole sequence (all ranks together), at least 1
 * @param heads        attention heads {@code H}, at least 1
 * @param headDim      width {@code D} of one head, at least 1
 * @param dtype        element type of Q, K, V and O: {@code BF16}, {@code F16} or {@code F32}
 * @param softmaxScale factor on {@code Q K^T} before the softmax, positive and finite
 */
public record AttentionShape(int batch, int seqLen, int heads, int headDim, DType dtype, double softmaxScale) {
    /**
     * Checks every component.
     *
     * @throws InvalidConfigurationException if a size is not positive, {@code dtype} is null or {@code F64},
     *         {@code B*S*H*D} overflows a long, or the scale is not positive and finite
     */
    public AttentionShape {
        InvalidConfigurationException.positive("batch B", batch);
        InvalidConfigurationException.positive("sequence length S", seqLen);
        InvalidConfigurationException.positive("heads H", heads);
        InvalidConfigurationException.positive("head dim D", headDim);
        if (dtype == null || dtype == DType.F64) {
            throw new InvalidConfigurationException("dtype=" + dtype, "dtype is one of BF16, F16, F32");
        }
        if (Math.multiplyHigh((long) batch * seqLen, (long) heads * headDim) != 0
                || (long) batch * seqLen * ((long) heads * headDim) < 0) {
            throw new InvalidConfigurationException("B*S*H*D = " + batch + "*" + seqLen + "*" + heads + "*" + headDim
                    + " elements does not fit a long", "B*S*H*D <= 2^63-1");
        }
        if (!(softmaxScale > 0) || Double.isInfinite(softmaxScale)) {
            throw new InvalidConfigurationException("softmax scale=" + softmaxScale + " is not a positive finite number",
                    "0 < scale < inf");
        }
    }

    /**
     * bf16 with the default scale {@code 1/sqrt(D)} (the CPU backend stores fp32 whatever the dtype).
     *
     * @param batch   sequences {@code B}, at least 1
     * @param seqLen  tokens {@code S} of one whole sequence, at least 1
     * @param heads   attention heads {@code H}, at least 1
     * @param headDim width {@code D} of one head, at least 1
     * @return the bf16 shape
     * @throws InvalidConfigurationException if a size is not positive or {@code B*S*H*D} overflows a long
     */
    public static AttentionShape of(int batch, int seqLen, int heads, int headDim) {
        return of(batch, seqLen, heads, headDim, DType.BF16);
    }

    /**
     * A shape in {@code dtype} with the default scale {@code 1/sqrt(D)}. The dtype is the GPU path's storage and
     * the element size the planner counts bytes in; the CPU backend stores and computes fp32 (its attention state
     * fp64) whatever it is ({@link org.streamfusion.backend.RankDevice#storageType}).
     *
     * @param batch   sequences {@code B}, at least 1
     * @param seqLen  tokens {@code S} of one whole sequence, at least 1
     * @param heads   attention heads {@code H}, at least 1
     * @param headDim width {@code D} of one head, at least 1
     * @param dtype   {@code BF16}, {@code F16} or {@code F32}
     * @return the shape
     * @throws InvalidConfigurationException if a size is not positive, {@code dtype} is not one of those
     *         three, or {@code B*S*H*D} overflows a long
     */
    public static AttentionShape of(int batch, int seqLen, int heads, int headDim, DType dtype) {
        InvalidConfigurationException.positive("head dim D", headDim);
        return new AttentionShape(batch, seqLen, heads, headDim, dtype, 1.0 / Math.sqrt(headDim));
    }

    /**
     * The same shape in another element type; the softmax scale is kept as it is.
     *
     * @param newType {@code BF16}, {@code F16} or {@code F32}
     * @return the shape in {@code newType}
     * @throws InvalidConfigurationException if {@code newType} is null or {@code F64}
     */
    public AttentionShape withDType(DType newType) {
        return new AttentionShape(batch, seqLen, heads, headDim, newType, softmaxScale);
    }

    /** {@return {@code E = B*S*H*D}: elements of one of Q, K, V over the whole sequence} */
    public long elements() {
        return (long) batch * seqLen * heads * headDim;
    }

    /** {@return the FLOP count the benchmarks use: {@code 4*B*H*S*S*D}} */
    public double flops() {
        return 4.0 * batch * heads * (double) seqLen * seqLen * headDim;
    }

    /**
     * Rows of the longest shard over {@code worldSize} GPUs with the default split, {@code ceil(S/N)}: the first
     * {@code S mod N} ranks hold one row more than the others. Every GPU holds at least one token.
     *
     * @param worldSize GPUs {@code N} the sequence is split over, at least 1 and at most {@code S}
     * @return {@code ceil(S/N)}
     * @throws InvalidConfigurationException if {@code N < 1} or {@code S < N}
     */
    public int localSeqLen(int worldSize) {
        InvalidConfigurationException.positive("number of GPUs N", worldSize); // else a division by 0 or a nonsense split
        if (seqLen < worldSize) {
            throw new InvalidConfigurationException("sequence length S=" + seqLen + " is shorter than the number of GPUs N="
                    + worldSize, "S >= N: every GPU holds at least one token");
        }
        return (int) ((seqLen + (long) worldSize - 1) / worldSize); // in long: S + N - 1 passes 2^31 - 1
    }

    /**
     * Rows of rank {@code rank}'s shard under the default split over {@code worldSize} GPUs (S >= N).
     *
     * @param worldSize GPUs {@code N}, at least 1 and at most {@code S}
     * @param rank      global rank, {@code 0 <= rank < N}
     * @return {@code floor(S/N)}, plus one for the first {@code S mod N} ranks
     * @throws InvalidConfigurationException if {@code N < 1}, {@code S < N} or {@code rank} is outside {@code [0, N)}
     */
    public int shardRows(int worldSize, int rank) {
        localSeqLen(worldSize);
        if (rank < 0 || rank >= worldSize) {
            throw new InvalidConfigurationException("rank " + rank + " outside the world of " + worldSize, "0 <= rank < N");
        }
        return seqLen / worldSize + (rank < seqLen % worldSize ? 1 : 0);
    }

    /**
     * The first token of rank {@code rank}'s shard under the default split.
     *
     * @param worldSize GPUs {@code N}, at least 1 and at most {@code S}
     * @param rank      global rank, {@code 0 <= rank < N}
     * @return the shard's first token's index in the whole sequence, {@code 0 <= start < S}
     * @throws InvalidConfigurationException if {@code N < 1}, {@code S < N} or {@code rank} is outside {@code [0, N)}
     */
    public int shardStart(int worldSize, int rank) {
        shardRows(worldSize, rank);
        return rank * (seqLen / worldSize) + Math.min(rank, seqLen % worldSize);
    }

    @Override
    public String toString() {
        return "B=" + batch + " S=" + seqLen + " H=" + heads + " D=" + headDim + " " + dtype;
    }
}
