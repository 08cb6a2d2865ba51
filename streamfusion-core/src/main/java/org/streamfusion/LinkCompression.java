package org.streamfusion;

/**
 * What the transfers between machines carry (docs/algorithms.md, section 7). Transfers inside a machine
 * are never compressed, and neither is a plan whose topology has one machine.
 */
public enum LinkCompression {
    /** The tensors' own element type: the layer is exact. */
    NONE,
    /**
     * e4m3 of each channel centred on its mean over the chunk's tokens, with one fp32 scale per head per
     * token: about half the bytes of bf16 ({@code 1 + 4/D + 2/32} bytes per element, plus 4 per channel of
     * a chunk) at the cost of e4m3's 3-bit mantissa, so results are no longer exact. Blocks whose estimated
     * logit error is over the limit travel in bf16 while slots last, and the layer event counts them (the
     * bound and the measured errors: docs/algorithms.md, section 7). NaN stays NaN; an infinity arrives as
     * NaN, or infinite from a bf16 slot. Opt-in.
     */
    FP8_E4M3
}
