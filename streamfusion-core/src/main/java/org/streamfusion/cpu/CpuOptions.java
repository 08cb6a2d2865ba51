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
 * @param memoryLimit bytes that all arenas of one world may hold at once; an allocation past it fails before
 *                    allocating with an {@link org.streamfusion.InvalidConfigurationException} naming the bytes
 *                    needed and available. Default: the JVM's maximum heap ({@link Runtime#maxMemory()}, by
 *                    default a quarter of physical memory), a bound the host is known to survive
 */
public record CpuOptions(Duration timeout, PutDelivery delivery, boolean jitter, long seed, long memoryLimit) {
    public enum PutDelivery {
        IMMEDIATE, AT_BARRIER
    }

    public CpuOptions {
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new org.streamfusion.InvalidConfigurationException("timeout=" + timeout + " is not positive", "timeout > 0");
        }
        if (memoryLimit <= 0) {
            throw new org.streamfusion.InvalidConfigurationException("memory limit=" + memoryLimit + " bytes is not positive",
                    "memoryLimit > 0");
        }
    }

    /** The same with the default memory limit. */
    public CpuOptions(Duration timeout, PutDelivery delivery, boolean jitter, long seed) {
        this(timeout, delivery, jitter, seed, Runtime.getRuntime().maxMemory());
    }

    public static CpuOptions defaults() {
        return new CpuOptions(Duration.ofSeconds(60), PutDelivery.AT_BARRIER, false, 1);
    }

    public CpuOptions withTimeout(Duration d) {
        return new CpuOptions(d, delivery, jitter, seed, memoryLimit);
    }

    public CpuOptions withDelivery(PutDelivery d) {
        return new CpuOptions(timeout, d, jitter, seed, memoryLimit);
    }

    public CpuOptions withJitter(boolean j, long s) {
        return new CpuOptions(timeout, delivery, j, s, memoryLimit);
    }

    public CpuOptions withMemoryLimit(long bytes) {
        return new CpuOptions(timeout, delivery, jitter, seed, bytes);
    }
}
