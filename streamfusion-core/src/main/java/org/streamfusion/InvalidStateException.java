package org.streamfusion;

/**
 * A call that the state of its object refuses: a closed world, device, stream or layer, a world that failed in an
 * earlier run, a call from a thread that may not make it. The message names the object and its state.
 */
public final class InvalidStateException extends StreamFusionException {

    /**
     * An exception naming the object and the state that refuses the call.
     *
     * @param message the object and its state, e.g. {@code "world is closed"}
     */
    public InvalidStateException(String message) {
        super(message);
    }

    /**
     * The same, with the failure that left the object in that state.
     *
     * @param message the object and its state
     * @param cause   the failure that caused it, or {@code null}
     */
    public InvalidStateException(String message, Throwable cause) {
        super(message, cause);
    }
}
