package org.streamfusion;

/** The sequence-parallel attention methods (docs/algorithms.md, section 3). */
public enum Method {
    /** One Ulysses all-to-all group of all N GPUs. */
    ULYSSES,
    /** One ring of all N GPUs, two-sided pass form. */
    RING,
    /** Ulysses inside a machine (consecutive ranks), ring across (strided ranks). Fang and Zhao. */
    USP,
    /** Ring inside a machine (consecutive ranks), Ulysses across machines (strided): topology-aware, not overlapped. */
    TAS,
    /** Torus all-to-all overlapped with attention, two-sided (NCCL-style send/recv). */
    TORUS_TWO_SIDED,
    /** Torus attention with one-sided ScatterPush/GatherPull and the pull form of RingAttn. */
    STREAMFUSION
}
