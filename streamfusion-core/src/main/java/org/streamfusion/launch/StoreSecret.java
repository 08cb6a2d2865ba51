package org.streamfusion.launch;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Map;
import org.streamfusion.InvalidConfigurationException;

/**
 * The per-job secret every rank proves to rank 0's rendezvous store (HMAC-SHA256 challenge-response,
 * docs/rendezvous.md). The project's launcher makes one per job and hands it to its ranks in
 * {@value #VARIABLE}; under torchrun, Slurm or MPI set that variable yourself, the same on every rank
 * (e.g. {@code export STREAMFUSION_STORE_SECRET=$(openssl rand -hex 32)} once per job). Never printed.
 */
public final class StoreSecret {
    /** The environment variable that carries the secret to every rank. */
    public static final String VARIABLE = "STREAMFUSION_STORE_SECRET";
    private static final int MIN_CHARS = 32;
    private static final int MAX_CHARS = 1024;

    private final String text;

    private StoreSecret(String text) {
        this.text = text;
    }

    /**
     * A secret given as text.
     *
     * @param text 32..1024 printable ASCII characters (e.g. 64 hex digits)
     * @return the secret
     * @throws InvalidConfigurationException if {@code text} is shorter, longer or not printable ASCII (the
     *                                       message gives its length, never the text)
     */
    public static StoreSecret of(String text) {
        String rule = VARIABLE + " is " + MIN_CHARS + ".." + MAX_CHARS + " printable ASCII characters, the same on every rank"
                + " (e.g. $(openssl rand -hex 32))";
        if (text == null) {
            throw new InvalidConfigurationException(VARIABLE + " is not set", rule);
        }
        if (text.length() < MIN_CHARS || text.length() > MAX_CHARS) {
            throw new InvalidConfigurationException(VARIABLE + " has " + text.length() + " characters", rule);
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x21 || c > 0x7e) {
                throw new InvalidConfigurationException(VARIABLE + " has a character that is not printable ASCII at index "
                        + i, rule);
            }
        }
        return new StoreSecret(text);
    }

    /**
     * A fresh secret of 256 random bits (64 hex digits) from {@link SecureRandom}.
     *
     * @return the new secret
     */
    public static StoreSecret generate() {
        byte[] bits = new byte[32];
        new SecureRandom().nextBytes(bits);
        return new StoreSecret(HexFormat.of().formatHex(bits));
    }

    /**
     * The secret in {@code env}'s {@value #VARIABLE}.
     *
     * @param env environment variables by name
     * @return the secret
     * @throws InvalidConfigurationException if it is missing or malformed
     */
    public static StoreSecret from(Map<String, String> env) {
        return of(env.get(VARIABLE));
    }

    /**
     * The secret in this process's {@value #VARIABLE}.
     *
     * @return the secret
     * @throws InvalidConfigurationException if it is missing or malformed
     */
    public static StoreSecret fromSystem() {
        return from(System.getenv());
    }

    /**
     * The text to put in {@value #VARIABLE} of a child process.
     *
     * @return the secret's text
     */
    public String text() {
        return text;
    }

    byte[] key() {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    /** {@return a fixed string: the secret is never printed} */
    @Override
    public String toString() {
        return "StoreSecret[redacted]";
    }
}
