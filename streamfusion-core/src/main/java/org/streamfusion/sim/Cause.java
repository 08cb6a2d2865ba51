package org.streamfusion.sim;

/** What set a stream's virtual time: where a wait for it is booked. */
enum Cause {
    COMPUTE, COMMUNICATION, SYNCHRONISATION
}
