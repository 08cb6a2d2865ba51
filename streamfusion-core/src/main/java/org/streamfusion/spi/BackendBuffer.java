package org.streamfusion.spi;

import org.streamfusion.backend.Buffer;

/**
 * The one base every backend's {@link Buffer} implements ({@link Buffer} is sealed over it, as
 * {@code java.lang.foreign.MemorySegment} is over its internal implementation): the API names no backend,
 * and a user cannot implement it, since this package is exported only to the library's own modules.
 */
public non-sealed interface BackendBuffer extends Buffer {
}
