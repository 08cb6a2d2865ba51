package org.streamfusion;

/**
 * An argument that a contract between the library's parts refuses: a slice outside its buffer, chunks that do not fit
 * their buffer, two views of different shapes for one copy. A caller of the public API meets it only where a value
 * slipped past the API's own checks, which throw {@link InvalidConfigurationException} naming the rule. The message
 * names the value.
 */
public final class InvalidArgumentException extends StreamFusionException {

    /**
     * An exception naming the refused value.
     *
     * @param message the value and why it is refused
     */
    public InvalidArgumentException(String message) {
        super(message);
    }

    /**
     * The same, with the failure that revealed it.
     *
     * @param message the value and why it is refused
     * @param cause   the failure that revealed it, or {@code null}
     */
    public InvalidArgumentException(String message, Throwable cause) {
        super(message, cause);
    }
}
