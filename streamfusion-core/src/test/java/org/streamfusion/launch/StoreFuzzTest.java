package org.streamfusion.launch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The store under attack, on loopback only, seeded and bounded: random and adversarial frames, huge and
 * negative lengths, slow and idle clients, a thousand connections and a second process speaking the old
 * unauthenticated protocol. The server stays up, its platform threads and heap stay bounded, and honest
 * ranks rendezvous exactly as if nobody else were there.
 */
class StoreFuzzTest {
    private static final StoreSecret SECRET = StoreSecret.generate();
    private static final Duration T = Duration.ofSeconds(20);
    /** The server's challenge: magic, version and a 32-byte nonce. */
    private static final int CHALLENGE = 5 + StoreProtocol.NONCE_BYTES;
    private static final StoreLimits LIMITS = StoreLimits.defaults().withTimeouts(Duration.ofMillis(1500),
            Duration.ofMillis(500));

    @Test
    void honestRanksRendezvousExactlyWhileIntrudersHammerTheStore() throws Exception {
        long heapBefore = usedHeap();
        int platformBefore = platformThreads();
        try (KeyValueStore zero = KeyValueStore.connect(0, "127.0.0.1", 0, SECRET, T, LIMITS)) {
            int port = zero.port();
            List<Socket> idle = new ArrayList<>();
            for (int i = 0; i < 1000; i++) {
                idle.add(new Socket("127.0.0.1", port));
            }
            Thread.sleep(200);
            int platformWithIdle = platformThreads();
            long heapWithIdle = usedHeap();
            Process intruder = intruder(port);
            Thread honest = Thread.ofPlatform().start(() -> rendezvous(zero, port, 4, 20));
            int adversarial = 300;
            SplittableRandom random = new SplittableRandom(23);
            List<java.util.concurrent.Future<Integer>> answers = new ArrayList<>();
            try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < adversarial; i++) {
                    byte[] frame = adversarialFrame(random, i);
                    answers.add(pool.submit(() -> sendAndDrain(port, frame)));
                }
            }
            for (int i = 0; i < adversarial; i++) {
                int answered = answers.get(i).get();
                assertTrue(answered <= 1, "case " + i + ": the server answered " + answered + " bytes past its challenge");
            }
            long slowStart = System.nanoTime();
            int slowAnswered = slowClient(port);
            double slowSeconds = (System.nanoTime() - slowStart) / 1e9;
            assertTrue(slowAnswered <= 0 && slowSeconds < 3, "slow client held " + slowSeconds + " s");
            assertTrue(intruder.waitFor(60, TimeUnit.SECONDS), "intruder process finished");
            String report = new String(intruder.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, intruder.exitValue(), report);
            for (String op : new String[] {"GET", "SET", "ADD", "ABORT", "FORGED"}) {
                assertTrue(report.contains(op + " answered=0 closed=true") || report.contains(op + " answered=1 closed=true"),
                        report);
            }
            honest.join(60_000);
            assertTrue(!honest.isAlive(), "honest ranks finished");
            for (Socket s : idle) {
                s.close();
            }
            // Nothing an intruder sent reached the map: the id is rank 0's, no abort, and a new rank still joins.
            assertArrayEquals("id-from-rank-0".getBytes(StandardCharsets.UTF_8), zero.get("unique-id"));
            try (KeyValueStore late = KeyValueStore.connect(9, "127.0.0.1", port, SECRET, T, LIMITS)) {
                assertEquals(4 * 20, late.add("rounds", 0));
            }
            long heapAfter = usedHeap();
            int peak = zero.server().peakOpen();
            System.out.printf("store fuzz: %d idle connections -> peak %d open on the server, platform threads %d -> %d;"
                    + " %d adversarial frames and %d closed for the protocol; slow client cut after %.2f s;"
                    + " heap after GC %d MiB before, %d MiB with the idle connections, %d MiB after%n", idle.size(), peak,
                    platformBefore, platformWithIdle, adversarial, zero.server().closedForProtocol(), slowSeconds,
                    heapBefore >> 20, heapWithIdle >> 20, heapAfter >> 20);
            assertTrue(zero.server().accepted() >= 1000 + adversarial, "the server took every connection: "
                    + zero.server().accepted());
            assertTrue(platformWithIdle - platformBefore <= 8, "platform threads " + platformBefore + " -> " + platformWithIdle);
            assertTrue(Math.max(heapWithIdle, heapAfter) - heapBefore < (64L << 20), "heap grew "
                    + ((Math.max(heapWithIdle, heapAfter) - heapBefore) >> 20) + " MiB");
            assertTrue(zero.server().closedForProtocol() >= adversarial / 2, "closed " + zero.server().closedForProtocol());
        }
    }

    @Test
    void anAuthenticatedPeerThatBreaksAFrameLosesOnlyItsConnection() throws Exception {
        try (KeyValueStore zero = KeyValueStore.connect(0, "127.0.0.1", 0, SECRET, T, LIMITS)) {
            zero.set("k", new byte[] {1});
            byte[] goodHead = ByteBuffer.allocate(3 + 1).put(StoreProtocol.SET).putShort((short) 1).put((byte) 'k').array();
            Object[][] cases = {
                {"unknown op", new byte[] {9, 0, 1, 'k', 0, 0, 0, 0}},
                {"empty key", new byte[] {StoreProtocol.GET, 0, 0}},
                {"key over the limit", new byte[] {StoreProtocol.GET, (byte) 0xff, (byte) 0xff}},
                {"negative value length", concat(goodHead, ByteBuffer.allocate(4).putInt(-1).array())},
                {"value length 2^31-1", concat(goodHead, ByteBuffer.allocate(4).putInt(Integer.MAX_VALUE).array())},
                {"bad MAC", concat(goodHead, new byte[4 + 8 + StoreProtocol.MAC_BYTES])},
                {"half a frame, then silence", goodHead},
            };
            for (Object[] c : cases) {
                long closedBefore = zero.server().closedForProtocol();
                try (Socket s = new Socket("127.0.0.1", zero.port())) {
                    var in = new DataInputStream(s.getInputStream());
                    var out = new DataOutputStream(s.getOutputStream());
                    StoreProtocol.connect(s, in, out, SECRET);
                    out.write((byte[]) c[1]);
                    out.flush();
                    s.setSoTimeout(3000);
                    long start = System.nanoTime();
                    assertEquals(-1, in.read(), c[0] + ": the server closes the connection without a reply");
                    assertTrue(System.nanoTime() - start < 2_000_000_000L, c[0] + ": closed within the frame timeout");
                }
                waitFor(() -> zero.server().closedForProtocol() > closedBefore, (String) c[0]);
                assertArrayEquals(new byte[] {1}, zero.get("k"), c[0] + ": the store goes on");
            }
        }
    }

    @Test
    void connectionsPastTheLimitAreClosedAndHonestRanksGetInOnceIntrudersTimeOut() throws Exception {
        try (KeyValueStore zero = KeyValueStore.connect(0, "127.0.0.1", 0, SECRET, T, LIMITS.withMaxConnections(9))) {
            List<Socket> idle = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                idle.add(new Socket("127.0.0.1", zero.port()));
            }
            waitFor(() -> zero.server().openConnections() == 9, "9 connections open");
            try (Socket extra = new Socket("127.0.0.1", zero.port())) {
                extra.setSoTimeout(3000);
                assertEquals(-1, extra.getInputStream().read(), "a connection past the limit is closed at once");
            }
            long start = System.nanoTime();
            try (KeyValueStore one = KeyValueStore.connect(1, "127.0.0.1", zero.port(), SECRET, T, LIMITS)) {
                one.set("joined", new byte[] {1});
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            assertTrue(seconds < 4, "an honest rank got in " + seconds + " s later (handshake timeout 1.5 s)");
            for (Socket s : idle) {
                s.close();
            }
        }
    }

    /** Honest ranks 1..n-1 (rank 0 is {@code zero}): the unique id, then {@code rounds} barriers with a counter. */
    private static void rendezvous(KeyValueStore zero, int port, int n, int rounds) {
        List<Thread> ranks = new ArrayList<>();
        List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int r = 0; r < n; r++) {
            int rank = r;
            ranks.add(Thread.ofPlatform().start(() -> {
                try (KeyValueStore own = rank == 0 ? null : KeyValueStore.connect(rank, "127.0.0.1", port, SECRET, T, LIMITS)) {
                    KeyValueStore store = rank == 0 ? zero : own;
                    if (rank == 0) {
                        store.set("unique-id", "id-from-rank-0".getBytes(StandardCharsets.UTF_8));
                    }
                    if (!new String(store.get("unique-id"), StandardCharsets.UTF_8).equals("id-from-rank-0")) {
                        throw new AssertionError("rank " + rank + " read another id");
                    }
                    for (int round = 0; round < rounds; round++) {
                        store.add("rounds", 1);
                        store.barrier("round-" + round, n);
                        long total = store.add("rounds", 0);
                        if (total < (round + 1L) * n) {
                            throw new AssertionError("rank " + rank + " passed barrier " + round + " with " + total);
                        }
                    }
                } catch (Throwable t) {
                    errors.add(t);
                }
            }));
        }
        for (Thread t : ranks) {
            try {
                t.join(60_000);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
        if (!errors.isEmpty()) {
            throw new AssertionError("honest ranks failed: " + errors);
        }
    }

    /** Random bytes, the old protocol's frames with huge and negative lengths, or the magic with a forged proof. */
    private static byte[] adversarialFrame(SplittableRandom random, int i) {
        return switch (i % 4) {
            case 0 -> {
                byte[] b = new byte[random.nextInt(300)];
                random.nextBytes(b);
                yield b;
            }
            case 1 -> StoreIntruder.oldFrame((byte) (1 + random.nextInt(4)), "sf/nccl-unique-id",
                    random.nextBoolean() ? 400 << 20 : -random.nextInt(1, Integer.MAX_VALUE));
            case 2 -> {
                byte[] b = new byte[5 + 64];
                random.nextBytes(b);
                System.arraycopy(new byte[] {'S', 'F', 'K', 'V', 1}, 0, b, 0, 5);
                yield b;
            }
            default -> {
                byte[] b = new byte[random.nextInt(1, 5)];
                System.arraycopy(new byte[] {'S', 'F', 'K', 'V'}, 0, b, 0, b.length);
                yield b;
            }
        };
    }

    /** Writes {@code frame} after reading the challenge; returns the bytes answered after it until the server closed. */
    private static int sendAndDrain(int port, byte[] frame) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            InputStream in = s.getInputStream();
            in.readNBytes(CHALLENGE);
            try {
                s.getOutputStream().write(frame);
            } catch (IOException closedAlready) {
                return 0;
            }
            return drain(in);
        }
    }

    /** One byte of the magic every 200 ms: the handshake deadline cuts it off. */
    private static int slowClient(int port) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            InputStream in = s.getInputStream();
            in.readNBytes(CHALLENGE);
            for (int i = 0; i < 30; i++) {
                try {
                    s.getOutputStream().write('S');
                    Thread.sleep(200);
                } catch (IOException | InterruptedException closed) {
                    break;
                }
                if (in.available() > 0 || !s.isConnected()) {
                    break;
                }
            }
            return drain(in);
        }
    }

    private static int drain(InputStream in) throws IOException {
        int n = 0;
        try {
            while (in.read() >= 0) {
                n++;
            }
        } catch (SocketTimeoutException e) {
            return Integer.MAX_VALUE;
        } catch (IOException reset) {
            // the server closed with data unread: a reset
        }
        return n;
    }

    private static Process intruder(int port) throws Exception {
        String resource = StoreIntruder.class.getName().replace('.', '/') + ".class";
        Path file = Path.of(StoreIntruder.class.getResource("/" + resource).toURI());
        Path root = file;
        for (int i = 0; i < resource.split("/").length; i++) {
            root = root.getParent();
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        return new ProcessBuilder(java, "-cp", root.toString(), StoreIntruder.class.getName(), String.valueOf(port))
                .redirectErrorStream(true).start();
    }

    private static long usedHeap() {
        System.gc();
        System.gc();
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }

    /** Live platform threads: virtual threads are not in this map. */
    private static int platformThreads() {
        return Thread.getAllStackTraces().size();
    }

    private static void waitFor(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertTrue(condition.getAsBoolean(), what + ": reached within 5 s");
    }

    private static byte[] concat(byte[] a, byte[] b) {
        return ByteBuffer.allocate(a.length + b.length).put(a).put(b).array();
    }
}
