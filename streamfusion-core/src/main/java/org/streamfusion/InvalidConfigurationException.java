package org.streamfusion;

/**
 * A shape, topology, mesh or tensor that breaks one of the rules of docs/algorithms.md, section 3. The message always names
 * the offending value and the rule, e.g. {@code "heads H=6 is not divisible by the Ulysses degree u=4
 * (rule: H % u == 0)"}.
 */
public final class InvalidConfigurationException extends StreamFusionException {
    /** The offending value, named. */
    private final String what;
    /** The rule that was broken. */
    private final String rule;

    /**
     * An exception whose message is {@code what (rule: rule)}.
     *
     * @param what the offending value, named, e.g.
     *             {@code "heads H=6 is not divisible by the Ulysses degree u=4"}
     * @param rule the rule it breaks, e.g. {@code "H % u == 0"}
     */
    public InvalidConfigurationException(String what, String rule) {
        this(what, rule, null);
    }

    /**
     * The same, with the exception that revealed it.
     *
     * @param what  the offending value, named
     * @param rule  the rule it breaks
     * @param cause the exception that revealed it, or {@code null}
     */
    public InvalidConfigurationException(String what, String rule, Throwable cause) {
        super(what + " (rule: " + rule + ")", cause);
        this.what = what;
        this.rule = rule;
    }

    /** {@return the offending value, named, as written in the message} */
    public String what() {
        return what;
    }

    /** {@return the rule that was broken, as written in the message} */
    public String rule() {
        return rule;
    }

    static int positive(String name, int value) {
        if (value <= 0) {
            throw new InvalidConfigurationException(name + "=" + value + " is not positive", name + " > 0");
        }
        return value;
    }
}
