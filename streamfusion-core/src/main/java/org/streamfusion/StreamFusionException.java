package org.streamfusion;

/** Root of the library's unchecked exceptions. */
public class StreamFusionException extends RuntimeException {
    /**
     * An exception with a message alone.
     *
     * @param message what went wrong
     */
    public StreamFusionException(String message) {
        super(message);
    }

    /**
     * An exception with the failure that caused it.
     *
     * @param message what went wrong
     * @param cause   the underlying failure, or {@code null}
     */
    public StreamFusionException(String message, Throwable cause) {
        super(message, cause);
    }
}
