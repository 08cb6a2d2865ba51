package org.streamfusion;

/**
 * An object of one backend handed to another: a CPU stream given to a CUDA rank, a buffer of another
 * rank's arena, a foreign {@link org.streamfusion.backend.Event}. The message names the argument, the
 * type that came and the type the backend expected.
 */
public final class WrongBackendException extends IllegalArgumentException {
    private final Class<?> expected;

    public WrongBackendException(String argument, Object actual, Class<?> expected) {
        super(argument + " is " + describe(actual) + ", but this backend needs a " + expected.getSimpleName()
                + " (rule: streams, events and buffers come from an arena of the backend that uses them)");
        this.expected = expected;
    }

    /** The type the backend needed. */
    public Class<?> expected() {
        return expected;
    }

    /** {@code value} as {@code type}, or a {@link WrongBackendException} naming {@code argument}. */
    public static <T> T require(Class<T> type, Object value, String argument) {
        if (type.isInstance(value)) {
            return type.cast(value);
        }
        if (value == null) {
            throw new NullPointerException(argument + " is null; expected a " + type.getSimpleName());
        }
        throw new WrongBackendException(argument, value, type);
    }

    private static String describe(Object actual) {
        return actual == null ? "null" : "a " + actual.getClass().getName();
    }
}
