package org.streamfusion.backend;

import org.streamfusion.spi.BackendEvent;

/** A point in a stream, for ordering between streams. Waiting on a never-recorded event is a no-op, as in CUDA. */
public sealed interface Event permits BackendEvent {
}
