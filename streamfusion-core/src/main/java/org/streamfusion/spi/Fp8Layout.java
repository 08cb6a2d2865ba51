package org.streamfusion.spi;

import org.streamfusion.InvalidArgumentException;
import org.streamfusion.DType;
import org.streamfusion.backend.Buffer;

/**
 * The centred e4m3 wire of one tensor chunk between machines (docs/algorithms.md, section 7): {@code elements}
 * values in rows of {@code rowElements} (one token: its heads times D, the channels) and blocks of
 * {@code block} (one head of one token). Every part starts on a 16-byte boundary:
 *
 * <ol>
 * <li>{@code elements} e4m3 codes of the centred values ({@link Fp8Wire}); a block sent in bf16 leaves 0s;</li>
 * <li>{@link #scalesOffset}: one fp32 per block, its scale, or {@code -(slot + 1)} for a block sent in bf16;</li>
 * <li>{@link #centresOffset}: one fp32 per channel, the centre subtracted before quantising and added after;</li>
 * <li>{@link #patchesOffset}: {@link #patchSlots} slots of {@code block} bf16 values, the centred values of the blocks
 * over the limit.</li>
 * </ol>
 *
 * <p>The centre of a channel is the mean of its finite values over the chunk's tokens, rounded to fp32 (0 where
 * a finite value reaches 2^126, whose centred value could overflow). Any centre is exact, since the receiver
 * adds back what the sender subtracted; the mean makes it useful: a bias shared by the chunk's tokens no longer
 * takes e4m3's range, only the spread around it does.
 *
 * <p>K's centre is added back like the others, not dropped. Shifting every key by {@code m} adds {@code q.m}
 * to every score of a row, which the softmax ignores only when all the keys the row sees share {@code m};
 * each chunk has its own mean, and a row meets the keys of many chunks, so dropping it would reweight them.
 *
 * <p>A block goes in bf16 when {@link #logitError} of its values exceeds {@link #LOGIT_ERROR_LIMIT}, while a
 * slot is free; one with no free slot stays e4m3 and is counted as over the limit.
 */
public record Fp8Layout(long elements, int block, int rowElements, double softmaxScale) {
    /** The RMS of e4m3's rounding relative to the value: a uniform error over a relative step of 2^-3. */
    public static final double ROUNDING_RMS = 0x1p-3 / Math.sqrt(12);
    /** The estimated RMS logit error ({@link #logitError}) above which a block is sent in bf16. */
    public static final double LOGIT_ERROR_LIMIT = 0.1;
    /** One bf16 slot per this many blocks (at least one slot per chunk). */
    public static final int BLOCKS_PER_SLOT = 32;
    /** A channel with a finite value at or above this magnitude is not centred. */
    public static final float CENTRE_LIMIT = 0x1p126f;

    public Fp8Layout {
        Fp8Wire.check(elements, block);
        if (rowElements < block || rowElements % block != 0 || elements % rowElements != 0) {
            throw new InvalidArgumentException("fp8 rows of " + rowElements + " elements must be whole blocks of "
                    + block + " and divide the chunk's " + elements + " elements");
        }
        if (!(softmaxScale > 0) || Double.isInfinite(softmaxScale)) {
            throw new InvalidArgumentException("softmax scale " + softmaxScale + " must be positive and finite");
        }
    }

    public long blocks() {
        return elements / block;
    }

    /** Tokens in the chunk: its rows. */
    public long tokens() {
        return elements / rowElements;
    }

    /** Blocks that can travel in bf16: one per {@link #BLOCKS_PER_SLOT}, at least one. */
    public long patchSlots() {
        return (blocks() + BLOCKS_PER_SLOT - 1) / BLOCKS_PER_SLOT;
    }

    public long scalesOffset() {
        return align(elements);
    }

    public long centresOffset() {
        return align(scalesOffset() + 4 * blocks());
    }

    public long patchesOffset() {
        return align(centresOffset() + 4L * rowElements);
    }

    /** Bytes on the wire. */
    public long bytes() {
        return align(patchesOffset() + 2 * patchSlots() * block);
    }

    /** The fp32 elements a wire buffer needs. */
    public long wireElements() {
        return bytes() / DType.F32.bytes();
    }

    /**
     * The RMS error a block of sums of squares {@code sumSquares} (its values) and {@code centredSumSquares}
     * (after centring) would put on one logit if a query of the block's own norm met it:
     * {@code ROUNDING_RMS * scale * |x| * |x - c| / sqrt(D)}. A query's error sum over the block's D elements
     * has that RMS when the roundings are independent; the block's norm stands in for the queries', which the
     * sender does not know.
     */
    public double logitError(double sumSquares, double centredSumSquares) {
        return ROUNDING_RMS * softmaxScale * Math.sqrt(sumSquares) * Math.sqrt(centredSumSquares) / Math.sqrt(block);
    }

    /** Whether a block with these sums goes in bf16 (while a slot is free). */
    public boolean overLimit(double sumSquares, double centredSumSquares) {
        return logitError(sumSquares, centredSumSquares) > LOGIT_ERROR_LIMIT;
    }

    /** Throws unless {@code tensor} is this layout's chunk and {@code wire} an fp32 buffer that holds its wire. */
    public void checkPair(Buffer tensor, Buffer wire) {
        if (tensor.length() != elements) {
            throw new InvalidArgumentException("an fp8 layout of " + elements + " elements for a tensor chunk of "
                    + tensor.length());
        }
        if (wire.dtype() != DType.F32 || wire.length() < wireElements()) {
            throw new InvalidArgumentException("fp8 wire of " + wire.length() + " " + wire.dtype() + " elements cannot hold "
                    + elements + " elements in rows of " + rowElements + ": needs " + wireElements() + " F32 elements");
        }
    }

    /** Throws unless {@code counts} holds the two counters ({@link Kernels#quantizeFp8}). */
    public static void checkCounts(Buffer counts) {
        if (counts.dtype() != DType.F64 || counts.length() < 2) {
            throw new InvalidArgumentException("fp8 counters need 2 F64 elements, not " + counts.length() + " "
                    + counts.dtype());
        }
    }

    private static long align(long bytes) {
        return (bytes + 15) / 16 * 16;
    }
}
