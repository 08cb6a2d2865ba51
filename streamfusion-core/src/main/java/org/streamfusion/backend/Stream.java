package org.streamfusion.backend;

import org.streamfusion.spi.BackendStream;

/** An in-order queue of device work (a CUDA stream; a worker thread on the CPU backend). */
public sealed interface Stream permits BackendStream {
    /** {@return the name given at creation, used in error messages} */
    String name();

    /**
     * Marks the current end of this stream; {@code step} names the schedule step for error messages.
     *
     * @param event the event to record, of this stream's backend
     * @param step  the schedule step, for error messages
     */
    void record(Event event, String step);

    /**
     * Work enqueued after this call starts only once the event's latest record has completed.
     *
     * @param event the event to wait for, of this stream's backend
     */
    void waitFor(Event event);

    /**
     * Blocks the host until all enqueued work is done, or throws a timeout naming the rank and step.
     *
     * @param step the step being waited for, for the timeout's message
     */
    void synchronize(String step);
}
