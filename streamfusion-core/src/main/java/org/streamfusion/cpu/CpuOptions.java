package org.streamfusion.cpu;

import java.time.Duration;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.Timeouts;

/**
 * Settings of the in-process CPU world.
 *
 * @param timeout     bound on every wait (event, barrier, receive, host synchronise), {@code 0 < timeout <= 7
 *                    days}; a wait that runs out throws a {@link org.streamfusion.CommunicationTimeoutException}
 *                    naming rank and step
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
    /** When a one-sided put becomes visible at its destination. */
    public enum PutDelivery {
        /** As soon as the put runs. */
        IMMEDIATE,
        /** Only when the issuing rank next reaches a barrier. */
        AT_BARRIER
    }

    /**
     * Checks the settings.
     *
     * @throws org.streamfusion.InvalidConfigurationException if {@code timeout} is null, not positive or past
     *                                                        {@link org.streamfusion.Timeouts#MAX}, or
     *                                                        {@code memoryLimit} is not positive
     */
    public CpuOptions {
        Timeouts.check("timeout", timeout);
        if (memoryLimit <= 0) {
            throw new InvalidConfigurationException("memory limit=" + memoryLimit + " bytes is not positive",
                    "memoryLimit > 0");
        }
    }

    /**
     * The same with the default memory limit.
     *
     * @param timeout  bound on every wait, positive
     * @param delivery when a ScatterPush lands at its destination
     * @param jitter   whether transfer-stream ops sleep a random few microseconds first
     * @param seed     seed of the jitter
     */
    public CpuOptions(Duration timeout, PutDelivery delivery, boolean jitter, long seed) {
        this(timeout, delivery, jitter, seed, Runtime.getRuntime().maxMemory());
    }

    /** {@return a 60 s timeout, delivery at barriers, no jitter, seed 1 and the default memory limit} */
    public static CpuOptions defaults() {
        return new CpuOptions(Duration.ofSeconds(60), PutDelivery.AT_BARRIER, false, 1);
    }

    /**
     * The same with another timeout.
     *
     * @param d bound on every wait, positive
     * @return the new options
     */
    public CpuOptions withTimeout(Duration d) {
        return new CpuOptions(d, delivery, jitter, seed, memoryLimit);
    }

    /**
     * The same with another put delivery.
     *
     * @param d when a ScatterPush lands at its destination
     * @return the new options
     */
    public CpuOptions withDelivery(PutDelivery d) {
        return new CpuOptions(timeout, d, jitter, seed, memoryLimit);
    }

    /**
     * The same with jitter on or off.
     *
     * @param j whether transfer-stream ops sleep a random few microseconds first
     * @param s seed of the jitter
     * @return the new options
     */
    public CpuOptions withJitter(boolean j, long s) {
        return new CpuOptions(timeout, delivery, j, s, memoryLimit);
    }

    /**
     * The same with another memory limit.
     *
     * @param bytes bytes that all arenas of one world may hold at once, positive
     * @return the new options
     */
    public CpuOptions withMemoryLimit(long bytes) {
        return new CpuOptions(timeout, delivery, jitter, seed, bytes);
    }
}
