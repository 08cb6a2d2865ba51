package org.streamfusion.launch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.StreamFusionException;

/** The store's rules from the caller's side: arguments, limits, secrets, interrupts and where it listens. */
class StoreRulesTest {
    private static final StoreSecret SECRET = StoreSecret.generate();
    private static final Duration T = Duration.ofSeconds(5);

    private static KeyValueStore rank0(StoreLimits limits) {
        return KeyValueStore.connect(0, "127.0.0.1", 0, SECRET, T, limits);
    }

    @Test
    void badPortsTimeoutsAndHostsAreRefusedNamingValueAndRule() {
        Object[][] cases = {
            {1, "127.0.0.1", 70_000, T, "port=70000 for rank 1"},
            {1, "127.0.0.1", 0, T, "port=0 for rank 1"},
            {0, "127.0.0.1", -1, T, "port=-1 for rank 0"},
            {1, "127.0.0.1", 1234, Duration.ofMillis(-5), "store timeout=PT-0.005S"},
            {1, "127.0.0.1", 1234, Duration.ZERO, "store timeout=PT0S"},
            {1, "127.0.0.1", 1234, Duration.ofMillis(Long.MAX_VALUE / 3), "store timeout=PT"},
            {1, "", 1234, T, "store host=''"},
            {-1, "127.0.0.1", 1234, T, "rank=-1"},
        };
        for (Object[] c : cases) {
            var e = assertThrows(InvalidConfigurationException.class, () -> KeyValueStore.connect((int) c[0], (String) c[1],
                    (int) c[2], SECRET, (Duration) c[3], StoreLimits.defaults()), () -> String.valueOf(c[4]));
            assertTrue(e.getMessage().startsWith((String) c[4]) && e.getMessage().contains("(rule: "), e.getMessage());
        }
    }

    @Test
    void rankZeroServesOnlyOnTheAddressTheRanksDial() throws Exception {
        try (KeyValueStore store = rank0(StoreLimits.defaults())) {
            assertTrue(store.server().address().isLoopbackAddress(), store.server().address().toString());
        }
        // An address of no interface of this host (TEST-NET-1) cannot be rank 0's.
        var e = assertThrows(InvalidConfigurationException.class, () -> KeyValueStore.connect(0, "192.0.2.1", 0, SECRET, T,
                StoreLimits.defaults()));
        assertTrue(e.getMessage().contains("not an address of rank 0's host"), e.getMessage());
        // Behind address translation the bind address is named explicitly.
        System.setProperty(KeyValueStore.BIND_PROPERTY, "127.0.0.1");
        try (KeyValueStore translated = KeyValueStore.connect(0, "192.0.2.1", 0, SECRET, Duration.ofMillis(300),
                StoreLimits.defaults())) {
            throw new AssertionError("rank 0 cannot reach itself at 192.0.2.1, yet connected");
        } catch (org.streamfusion.CommunicationTimeoutException expected) {
            assertTrue(expected.getMessage().contains("192.0.2.1"), expected.getMessage());
        } finally {
            System.clearProperty(KeyValueStore.BIND_PROPERTY);
        }
        assertTrue(InetAddress.getByName("127.0.0.1").isLoopbackAddress());
    }

    @Test
    void aRankWithAnotherSecretIsRefusedAndLearnsNothing() {
        try (KeyValueStore store = rank0(StoreLimits.defaults())) {
            store.set("unique-id", new byte[] {42});
            var e = assertThrows(StreamFusionException.class, () -> KeyValueStore.connect(1, "127.0.0.1", store.port(),
                    StoreSecret.generate(), T, StoreLimits.defaults()));
            assertTrue(e.getMessage().contains("refused this rank's secret"), e.getMessage());
            assertArrayEquals(new byte[] {42}, store.get("unique-id"));
        }
    }

    @Test
    void secretsAreCheckedAndNeverPrinted() {
        assertThrows(InvalidConfigurationException.class, () -> StoreSecret.of("short"));
        assertThrows(InvalidConfigurationException.class, () -> StoreSecret.of("x".repeat(40) + "\n"));
        var missing = assertThrows(InvalidConfigurationException.class, () -> StoreSecret.from(java.util.Map.of()));
        assertTrue(missing.getMessage().startsWith("STREAMFUSION_STORE_SECRET is not set"), missing.getMessage());
        String text = "0123456789abcdef0123456789abcdef";
        assertEquals("StoreSecret[redacted]", StoreSecret.of(text).toString());
        var e = assertThrows(InvalidConfigurationException.class, () -> StoreSecret.of(text + "é"));
        assertTrue(!e.getMessage().contains(text), e.getMessage());
    }

    @Test
    void oversizedKeysAndValuesAreRefusedBeforeWritingAndTheConnectionStaysInStep() {
        StoreLimits small = new StoreLimits(64, 1024, 2560, 8, 64, Duration.ofSeconds(2), Duration.ofSeconds(2));
        try (KeyValueStore store = rank0(small)) {
            var key = assertThrows(InvalidConfigurationException.class, () -> store.set("k".repeat(70_000), new byte[1]));
            assertTrue(key.getMessage().startsWith("key of 70000 UTF-8 bytes"), key.getMessage());
            var value = assertThrows(InvalidConfigurationException.class, () -> store.set("a", new byte[1025]));
            assertTrue(value.getMessage().startsWith("value of 1025 bytes for key 'a'"), value.getMessage());
            assertThrows(InvalidConfigurationException.class, () -> store.set("__abort__", new byte[1]));
            assertThrows(InvalidConfigurationException.class, () -> store.get(""));
            long start = System.nanoTime();
            store.set("a", new byte[] {7});
            assertArrayEquals(new byte[] {7}, store.get("a"));
            assertTrue(System.nanoTime() - start < 1_000_000_000L, "the next call answered at once");
            // Store bounds: the server refuses, the connection goes on.
            store.set("b", new byte[1000]);
            store.set("c", new byte[1000]);
            var full = assertThrows(InvalidConfigurationException.class, () -> store.set("d", new byte[1000]));
            assertTrue(full.getMessage().contains("store would hold 3005 bytes (rule: at most 2560)"),
                    full.getMessage());
            var counter = assertThrows(InvalidConfigurationException.class, () -> store.add("a", 1));
            assertTrue(counter.getMessage().contains("holds 1 bytes (rule: a counter is 8 bytes)"), counter.getMessage());
            store.add("n", Long.MAX_VALUE);
            var overflow = assertThrows(InvalidConfigurationException.class, () -> store.add("n", 1));
            assertTrue(overflow.getMessage().contains("would overflow"), overflow.getMessage());
            for (int i = 0; i < 4; i++) {
                store.set("k" + i, new byte[1]);
            }
            var keys = assertThrows(InvalidConfigurationException.class, () -> store.set("k9", new byte[1]));
            assertTrue(keys.getMessage().contains("store holds 8 keys (rule: at most 8)"), keys.getMessage());
            assertArrayEquals(new byte[] {7}, store.get("a"));
            // A full store still takes the abort that stops the job.
            store.abort("failed while the store was full");
            var aborted = assertThrows(org.streamfusion.RankFailedException.class, () -> store.get("a"));
            assertTrue(aborted.getMessage().contains("rank 0: failed while the store was full"), aborted.getMessage());
        }
    }

    @Test
    void anInterruptEndsAWaitingGetAtOnceAndKeepsTheFlag() throws Exception {
        try (KeyValueStore store = KeyValueStore.connect(0, "127.0.0.1", 0, SECRET, Duration.ofSeconds(30),
                StoreLimits.defaults())) {
            AtomicReference<Throwable> got = new AtomicReference<>();
            AtomicReference<Boolean> flag = new AtomicReference<>();
            Thread waiter = Thread.ofPlatform().start(() -> {
                try {
                    store.get("never-set");
                } catch (Throwable t) {
                    got.set(t);
                    flag.set(Thread.currentThread().isInterrupted());
                }
            });
            Thread.sleep(200);
            long start = System.nanoTime();
            waiter.interrupt();
            waiter.join(5000);
            double ms = (System.nanoTime() - start) / 1e6;
            assertTrue(!waiter.isAlive() && ms < 2000, "get ended " + ms + " ms after the interrupt");
            assertTrue(got.get() instanceof StreamFusionException && got.get().getMessage().contains("interrupted"),
                    String.valueOf(got.get()));
            assertEquals(Boolean.TRUE, flag.get());
            var after = assertThrows(StreamFusionException.class, () -> store.get("x"));
            assertTrue(after.getMessage().contains("connection is closed (interrupted)"), after.getMessage());
        }
    }

    @Test
    void abortReachesEveryWaitingRank() throws Exception {
        try (KeyValueStore zero = rank0(StoreLimits.defaults());
                KeyValueStore one = KeyValueStore.connect(1, "127.0.0.1", zero.port(), SECRET, T, StoreLimits.defaults())) {
            AtomicReference<Throwable> got = new AtomicReference<>();
            Thread waiter = Thread.ofPlatform().start(() -> {
                try {
                    one.get("never-set");
                } catch (Throwable t) {
                    got.set(t);
                }
            });
            Thread.sleep(100);
            zero.abort("x".repeat(5000));
            waiter.join(5000);
            assertTrue(got.get() instanceof org.streamfusion.RankFailedException, String.valueOf(got.get()));
            assertTrue(got.get().getMessage().contains("rank 0: xxx"), got.get().getMessage());
            assertTrue(got.get().getMessage().getBytes(StandardCharsets.UTF_8).length < 2200, "message cut");
        }
    }
}
