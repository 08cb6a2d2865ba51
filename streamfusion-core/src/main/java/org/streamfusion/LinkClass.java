package org.streamfusion;

/** Where a transfer travels: a local copy, a link inside one machine (NVLink), or the network between machines. */
public enum LinkClass {
    /** A rank's transfer to itself: a local copy. */
    SELF,
    /** Between two GPUs of one machine (NVLink). */
    INTRA_MACHINE,
    /** Between GPUs of two machines, over the network. */
    INTER_MACHINE
}
