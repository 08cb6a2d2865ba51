package org.streamfusion.launch;

import java.time.Duration;
import org.streamfusion.InvalidConfigurationException;

/**
 * The bounds rank 0's rendezvous store keeps (docs/rendezvous.md). A request past one is refused with a
 * message naming the value and the limit; the connection and the server go on.
 *
 * @param maxKeyBytes      UTF-8 bytes of one key, 1..65535
 * @param maxValueBytes    bytes of one value, 8..64 MiB
 * @param maxStoreBytes    keys plus values held at once, at least {@code maxValueBytes}, at most 1 GiB
 * @param maxKeys          keys held at once, 1..1,000,000
 * @param maxConnections   connections open at once, authenticated or not, 1..65536; one more is closed at once
 * @param handshakeTimeout how long a new connection has to prove the secret, 1 ms..10 min
 * @param frameTimeout     how long the rest of a frame may take once its first byte came, 1 ms..10 min
 */
public record StoreLimits(int maxKeyBytes, int maxValueBytes, long maxStoreBytes, int maxKeys, int maxConnections,
        Duration handshakeTimeout, Duration frameTimeout) {

    /**
     * Checks every bound.
     *
     * @throws InvalidConfigurationException naming the value and its range
     */
    public StoreLimits {
        range("maxKeyBytes", maxKeyBytes, 1, 65_535);
        range("maxValueBytes", maxValueBytes, 8, 64L << 20);
        range("maxStoreBytes", maxStoreBytes, maxValueBytes, 1L << 30);
        range("maxKeys", maxKeys, 1, 1_000_000);
        range("maxConnections", maxConnections, 1, 65_536);
        duration("handshakeTimeout", handshakeTimeout);
        duration("frameTimeout", frameTimeout);
    }

    /**
     * Room for thousands of ranks' unique ids and barriers: keys up to 1 KiB, values up to 1 MiB, 64 MiB and
     * 65,536 keys in all, 4,096 connections, 10 s to authenticate and 30 s to finish a started frame.
     *
     * @return the default limits
     */
    public static StoreLimits defaults() {
        return new StoreLimits(1024, 1 << 20, 64L << 20, 65_536, 4096, Duration.ofSeconds(10), Duration.ofSeconds(30));
    }

    /**
     * The same with other time bounds (tests use short ones).
     *
     * @param handshake how long a new connection has to authenticate
     * @param frame     how long the rest of a started frame may take
     * @return the new limits
     */
    public StoreLimits withTimeouts(Duration handshake, Duration frame) {
        return new StoreLimits(maxKeyBytes, maxValueBytes, maxStoreBytes, maxKeys, maxConnections, handshake, frame);
    }

    /**
     * The same with another connection bound.
     *
     * @param connections connections open at once
     * @return the new limits
     */
    public StoreLimits withMaxConnections(int connections) {
        return new StoreLimits(maxKeyBytes, maxValueBytes, maxStoreBytes, maxKeys, connections, handshakeTimeout,
                frameTimeout);
    }

    private static void range(String name, long value, long min, long max) {
        if (value < min || value > max) {
            throw new InvalidConfigurationException(name + "=" + value, min + " <= " + name + " <= " + max);
        }
    }

    private static void duration(String name, Duration d) {
        if (d == null || d.compareTo(Duration.ofMillis(1)) < 0 || d.compareTo(Duration.ofMinutes(10)) > 0) {
            throw new InvalidConfigurationException(name + "=" + d, "1 ms <= " + name + " <= 10 min");
        }
    }
}
