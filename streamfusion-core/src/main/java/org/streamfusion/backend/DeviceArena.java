package org.streamfusion.backend;

import org.streamfusion.DType;

/**
 * Owns device resources with one lifetime, like {@link java.lang.foreign.Arena}: everything allocated
 * from it is released by {@link #close()}. Symmetric allocation and close are collective when the arena
 * holds symmetric memory: every rank makes the same calls in the same order.
 */
public interface DeviceArena extends AutoCloseable {
    Buffer allocate(long elements, DType dtype);

    Buffer allocateSymmetric(long elements, DType dtype);

    Stream createStream(String name);

    Event createEvent();

    @Override
    void close();
}
