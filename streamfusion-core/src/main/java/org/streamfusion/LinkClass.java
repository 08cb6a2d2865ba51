package org.streamfusion;

/** Where a transfer travels: a local copy, a link inside one machine (NVLink), or the network between machines. */
public enum LinkClass {
    SELF, INTRA_MACHINE, INTER_MACHINE
}
