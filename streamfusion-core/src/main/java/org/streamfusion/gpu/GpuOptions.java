package org.streamfusion.gpu;

import java.time.Duration;
import org.streamfusion.InvalidConfigurationException;

/**
 * Settings of a CUDA rank.
 *
 * @param timeout bound on the rendezvous and on every host wait for a stream
 * @param nvshmem initialise NVSHMEM (needed by STREAMFUSION's one-sided primitives; the two-sided
 *                methods need only NCCL)
 * @param poison  fill new allocations with NaN, so that a read of memory nothing wrote shows in results
 */
public record GpuOptions(Duration timeout, boolean nvshmem, boolean poison) {
    public GpuOptions {
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new InvalidConfigurationException("timeout=" + timeout + " is not positive", "timeout > 0");
        }
    }

    public static GpuOptions defaults() {
        return new GpuOptions(Duration.ofSeconds(120), true, true);
    }
}
