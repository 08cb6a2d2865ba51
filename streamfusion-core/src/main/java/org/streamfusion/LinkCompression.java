package org.streamfusion;

/**
 * What the transfers between machines carry (docs/algorithms.md, section 7). Transfers inside a machine
 * are never compressed, and neither is a plan whose topology has one machine.
 */
public enum LinkCompression {
    /** The tensors' own element type: the layer is exact. */
    NONE,
    /**
     * e4m3 with one fp32 scale per head per token ({@code amax/448} of its {@code D} values): about half the
     * bytes of bf16 ({@code 1 + 4/D} bytes per element) at the cost of e4m3's 3-bit mantissa, so results
     * are no longer exact (the errors measured against float64 are in docs/algorithms.md, section 7). NaN
     * stays NaN; an infinity arrives as NaN, since e4m3 has none. Opt-in.
     */
    FP8_E4M3
}
