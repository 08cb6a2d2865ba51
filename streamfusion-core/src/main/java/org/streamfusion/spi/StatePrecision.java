package org.streamfusion.spi;

import org.streamfusion.DType;

/**
 * Implemented by an arena whose backend carries the attention state in a type other than fp32: the CPU
 * reference keeps it in fp64, the precision its scores are computed in, so that folding many KV chunks
 * loses nothing (docs/algorithms.md, section 2). Arenas without it get fp32 state, as the GPU kernel needs.
 */
public interface StatePrecision {
    DType stateType();
}
