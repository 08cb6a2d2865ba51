package org.streamfusion.spi;

import org.streamfusion.backend.Stream;

/**
 * The one base every backend's {@link Stream} implements ({@link Stream} is sealed over it, as
 * {@code java.lang.foreign.MemorySegment} is over its internal implementation): the API names no backend,
 * and a user cannot implement it, since this package is exported only to the library's own modules.
 */
public non-sealed interface BackendStream extends Stream {
}
