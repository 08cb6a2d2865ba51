package org.streamfusion.backend;

import org.streamfusion.DType;

/**
 * Owns device resources with one lifetime, like {@link java.lang.foreign.Arena}: everything allocated
 * from it is released by {@link #close()}. Symmetric allocation and close are collective when the arena
 * holds symmetric memory: every rank makes the same calls in the same order.
 */
public interface DeviceArena extends AutoCloseable {
    /**
     * A buffer of this rank only, released by {@link #close()}.
     *
     * @param elements length in elements, at least 1
     * @param dtype    the requested element type; a backend may store another ({@link Buffer#dtype()} says)
     * @return the new buffer, not symmetric
     */
    Buffer allocate(long elements, DType dtype);

    /**
     * A buffer at the same place on every rank; collective: every rank makes the same call in the same order.
     *
     * @param elements length in elements, at least 1, the same on every rank
     * @param dtype    the requested element type, the same on every rank
     * @return the new symmetric buffer
     */
    Buffer allocateSymmetric(long elements, DType dtype);

    /**
     * A new in-order stream, stopped by {@link #close()}.
     *
     * @param name names the stream in error messages (and worker threads on the CPU backend)
     * @return the new stream
     */
    Stream createStream(String name);

    /** {@return a new event, not yet recorded} */
    Event createEvent();

    /** Releases everything allocated from this arena; collective when it holds symmetric memory. */
    @Override
    void close();
}
