package org.streamfusion;

/**
 * How a layer's Q, K and V cross a two-sided Ulysses step: the all-to-all of ULYSSES, USP and TAS
 * ({@code u > 1}) and step 1 of TORUS_TWO_SIDED (docs/algorithms.md, section 3.1). The bytes and the result
 * are the same either way, bit for bit; what differs is fixed cost against memory. Plans without such an
 * exchange ({@link Plan#exchangesQkv()}: STREAMFUSION's one-sided puts, ULYSSES, USP and TAS with {@code u = 1})
 * ignore it.
 */
public enum QkvExchange {
    /** {@link #GROUPED} while one shard holds at most {@link #AUTO_LIMIT_BYTES}, {@link #SEPARATE} above: the default. */
    AUTO,
    /**
     * One grouped exchange for all three: one launch and one rendezvous instead of three, for two more
     * shard-sized packing buffers (all three are packed before the first byte moves).
     */
    GROUPED,
    /** Three exchanges, one packing buffer reused by each in stream order. */
    SEPARATE;

    /**
     * 64 MiB: below it the fixed cost of an exchange is what bounds a layer on fast links; above, the bytes
     * dominate and the memory is kept. With bf16, H=24 and D=128: Flux 1024x1024 (S=4608) always groups,
     * 2048x2048 (S=16896) from 2 GPUs, 4096x4096 (S=65536) from 8 (from 7 by bytes alone).
     */
    public static final long AUTO_LIMIT_BYTES = 64L << 20;

    /**
     * Whether a layer whose shard ({@code B * S/N * H * D} elements of the storage type) holds
     * {@code shardBytes} sends Q, K and V in one exchange.
     *
     * @param shardBytes the bytes of one rank's shard of one tensor, as the layer stores it
     * @return {@code true} to group
     */
    public boolean groups(long shardBytes) {
        return switch (this) {
            case AUTO -> shardBytes <= AUTO_LIMIT_BYTES;
            case GROUPED -> true;
            case SEPARATE -> false;
        };
    }
}
