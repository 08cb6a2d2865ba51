package org.streamfusion;

/** Root of the library's unchecked exceptions. */
public class StreamFusionException extends RuntimeException {
    public StreamFusionException(String message) {
        super(message);
    }

    public StreamFusionException(String message, Throwable cause) {
        super(message, cause);
    }
}
