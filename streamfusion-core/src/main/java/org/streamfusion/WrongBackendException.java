package org.streamfusion;

/**
 * An object of one backend handed to another: a CPU stream given to a CUDA rank, a buffer of another
 * rank's arena, a foreign {@link org.streamfusion.backend.Event}. The message names the argument, the
 * type that came and the type the backend expected.
 */
public final class WrongBackendException extends StreamFusionException {
    /** The type the backend needed. */
    private final Class<?> expected;

    /**
     * An exception naming what came and what was needed.
     *
     * @param argument the argument's name, as the message gives it
     * @param actual   the object that came, or {@code null}
     * @param expected the type the backend needs
     */
    public WrongBackendException(String argument, Object actual, Class<?> expected) {
        super(argument + " is " + describe(actual) + ", but this backend needs a " + expected.getSimpleName()
                + " (rule: streams, events and buffers come from an arena of the backend that uses them)");
        this.expected = expected;
    }

    /** {@return the type the backend needed} */
    public Class<?> expected() {
        return expected;
    }

    /**
     * {@code value} as {@code type}, or a {@link WrongBackendException} naming {@code argument}.
     *
     * @param <T>      the type the backend needs
     * @param type     its class
     * @param value    the object that came
     * @param argument its name in the message
     * @return {@code value}, cast to {@code type}
     * @throws WrongBackendException if {@code value} is null or not a {@code type}
     */
    public static <T> T require(Class<T> type, Object value, String argument) {
        if (type.isInstance(value)) {
            return type.cast(value);
        }
        throw new WrongBackendException(argument, value, type);
    }

    private static String describe(Object actual) {
        return actual == null ? "null" : "a " + actual.getClass().getName();
    }
}
