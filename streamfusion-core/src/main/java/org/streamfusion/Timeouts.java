package org.streamfusion;

import java.time.Duration;

/**
 * The one range every timeout of the library is checked against, and deadline arithmetic that saturates
 * instead of wrapping: a timeout of {@code Long.MAX_VALUE / 3} ms must not turn into a negative wait.
 */
public final class Timeouts {
    /** The longest timeout any option accepts: 7 days, far past any job's rendezvous or step. */
    public static final Duration MAX = Duration.ofDays(7);

    private Timeouts() {
    }

    /**
     * Checks that {@code value} is positive and at most {@link #MAX}.
     *
     * @param name  the option's name, for the message
     * @param value the timeout
     * @return {@code value}
     * @throws InvalidConfigurationException naming the value and the rule
     */
    public static Duration check(String name, Duration value) {
        if (value == null || value.isNegative() || value.isZero() || value.compareTo(MAX) > 0) {
            throw new InvalidConfigurationException(name + "=" + value, "0 < " + name + " <= " + MAX + " (7 days)");
        }
        return value;
    }

    /**
     * {@code now + factor * d} in {@link System#nanoTime()} terms, saturated so it never wraps past now.
     *
     * @param d      the wait
     * @param factor how many times {@code d}, at least 1
     * @return the deadline
     */
    public static long deadlineNanos(Duration d, long factor) {
        long now = System.nanoTime();
        long span = saturatedNanos(d, factor);
        // nanoTime is compared by difference: a span up to Long.MAX_VALUE / 2 keeps deadline - now positive.
        return now + Math.min(span, Long.MAX_VALUE / 2);
    }

    /**
     * {@code factor * d} in nanoseconds, {@code Long.MAX_VALUE} when it does not fit.
     *
     * @param d      the wait
     * @param factor how many times {@code d}, at least 0
     * @return the product, saturated
     */
    public static long saturatedNanos(Duration d, long factor) {
        try {
            return Math.multiplyExact(d.toNanos(), factor);
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /**
     * {@code factor * d + extraMillis} in milliseconds, {@code Long.MAX_VALUE} when it does not fit.
     *
     * @param d           the wait
     * @param factor      how many times {@code d}, at least 0
     * @param extraMillis added margin, at least 0
     * @return the sum, saturated
     */
    public static long saturatedMillis(Duration d, long factor, long extraMillis) {
        try {
            return Math.addExact(Math.multiplyExact(d.toMillis(), factor), extraMillis);
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }
}
