package org.streamfusion.spi;

import org.streamfusion.StreamFusionException;
import org.streamfusion.backend.Stream;

/**
 * What a backend offers to record a layer's enqueue once and replay it with one call: CUDA Graphs on the
 * GPU backend. A backend without it ({@link RankBackend#streamCapture()} empty) replays by enqueueing the
 * layer again, which gives the same result at the eager cost.
 */
public interface StreamCapture {
    /**
     * Captures what {@code body} enqueues on {@code origin}, and on every stream it forks from
     * {@code origin} through events and joins back, without running any of it.
     *
     * @param origin the stream the capture starts and ends on
     * @param body   enqueues the work
     * @return the recorded work
     * @throws Refused with the backend's own reason when a call inside {@code body} cannot be captured;
     *         the capture is then ended and {@code origin} usable again. Any other exception of
     *         {@code body} propagates as it is, after the capture is ended.
     */
    Replay capture(Stream origin, Runnable body);

    /** The backend could not record the work: its own error text, so that a fallback can say why. */
    final class Refused extends StreamFusionException {
        private static final long serialVersionUID = 1L;

        /**
         * @param message the backend's reason
         * @param cause   the backend's exception
         */
        public Refused(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Recorded work: replayed whole, in one call, in a stream's order. */
    interface Replay extends AutoCloseable {
        /** Enqueues one replay on {@code stream}, after what is already on it. */
        void launch(Stream stream);

        /** {@return how many operations the capture recorded} */
        long operations();

        /** Releases the recorded work; replays already enqueued still complete. */
        @Override
        void close();
    }
}
