package org.streamfusion.spi;

import java.lang.foreign.MemorySegment;
import java.util.Optional;
import org.streamfusion.backend.Buffer;

/**
 * The one base every backend's {@link Buffer} implements ({@link Buffer} is sealed over it, as
 * {@code java.lang.foreign.MemorySegment} is over its internal implementation): the API names no backend,
 * and a user cannot implement it, since this package is exported only to the library's own modules.
 */
public non-sealed interface BackendBuffer extends Buffer {
    /**
     * The buffer's memory, for handing it to another framework (DLPack): host memory on the CPU backend, a device
     * address range on a GPU; empty where a buffer has none (the simulator's).
     *
     * @return the memory of elements {@code [0, length())}, or empty
     */
    default Optional<MemorySegment> memory() {
        return Optional.empty();
    }
}
