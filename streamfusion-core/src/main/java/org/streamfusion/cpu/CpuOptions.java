package org.streamfusion.cpu;

import java.time.Duration;

/**
 * Settings of the in-process CPU world.
 *
 * @param timeout     bound on every wait (event, barrier, receive, host synchronise); a wait that runs out
 *                    throws a {@link org.streamfusion.CommunicationTimeoutException} naming rank and step
 * @param delivery    when a ScatterPush lands at its destination: at once, or only when the issuing rank
 *                    next reaches a barrier (the latest NVSHMEM allows), which exposes a missing barrier
 * @param jitter      sleep a random few microseconds before each op on the transfer streams, so that a
 *                    missing event dependency shows up as a wrong result rather than passing by luck
 * @param seed        seed of the jitter
 */
public record CpuOptions(Duration timeout, PutDelivery delivery, boolean jitter, long seed) {
    public enum PutDelivery {
        IMMEDIATE, AT_BARRIER
    }

    public CpuOptions {
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new org.streamfusion.InvalidConfigurationException("timeout=" + timeout + " is not positive", "timeout > 0");
        }
    }

    public static CpuOptions defaults() {
        return new CpuOptions(Duration.ofSeconds(60), PutDelivery.AT_BARRIER, false, 1);
    }

    public CpuOptions withTimeout(Duration d) {
        return new CpuOptions(d, delivery, jitter, seed);
    }

    public CpuOptions withDelivery(PutDelivery d) {
        return new CpuOptions(timeout, d, jitter, seed);
    }

    public CpuOptions withJitter(boolean j, long s) {
        return new CpuOptions(timeout, delivery, j, s);
    }
}
