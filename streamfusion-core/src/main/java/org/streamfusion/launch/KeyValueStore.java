package org.streamfusion.launch;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import org.streamfusion.CommunicationTimeoutException;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.InvalidStateException;
import org.streamfusion.RankFailedException;
import org.streamfusion.StreamFusionException;
import org.streamfusion.Timeouts;
import org.streamfusion.launch.StoreProtocol.Reply;
import org.streamfusion.launch.StoreProtocol.Request;

/**
 * A TCP key-value store for rendezvous (the NCCL and NVSHMEM unique ids, start and end barriers), served
 * by rank 0 on the address the ranks dial and used by every rank. Every connection proves the job's
 * {@link StoreSecret} before anything else is read, and every later frame carries a MAC (docs/rendezvous.md).
 * {@code get} waits for a key; every wait is bounded and names the rank and the key, and an interrupt ends it
 * at once (the connection is then closed). A rank that fails calls {@link #abort}: every pending and later
 * wait of every rank then fails at once with that rank's message.
 */
public final class KeyValueStore implements AutoCloseable {
    private static final int ABORT_MESSAGE_CHARS = 2000;

    private final int rank;
    private final Duration timeout;
    private final StoreLimits limits;
    private final StoreServer server;
    private final Socket socket;
    private final StoreProtocol.Session session;
    private volatile String broken;

    private KeyValueStore(int rank, Duration timeout, StoreLimits limits, StoreServer server, Socket socket,
            StoreProtocol.Session session) {
        this.rank = rank;
        this.timeout = timeout;
        this.limits = limits;
        this.server = server;
        this.socket = socket;
        this.session = session;
    }

    /**
     * Connects to {@code env}'s master address and port with the secret in this process's
     * {@value StoreSecret#VARIABLE}, as {@link #connect(int, String, int, StoreSecret, Duration, StoreLimits)} does.
     *
     * @param env     this process's rank and where rank 0 serves
     * @param timeout bound on connecting and on every later wait
     * @return the connected store; close it when done
     * @throws InvalidConfigurationException if the secret is missing or malformed
     */
    public static KeyValueStore connect(DistributedEnvironment env, Duration timeout) {
        return connect(env.rank(), env.masterAddr(), env.masterPort(), StoreSecret.fromSystem(), timeout,
                StoreLimits.defaults());
    }

    /**
     * Rank 0 serves on {@code host:port} (port 0 picks a free one) and only there; every rank, rank 0
     * included, connects and proves {@code secret}.
     *
     * @param rank    this process's rank, at least 0; rank 0 also serves
     * @param host    where rank 0 serves: an address of rank 0's host (a loopback address stays loopback)
     * @param port    1..65535; rank 0 may give 0 to pick a free one (then only rank 0 can know it)
     * @param secret  the job's secret, the same on every rank
     * @param timeout bound on connecting and on every later wait, {@code 0 < timeout <= 7 days}
     * @param limits  the bounds rank 0's server keeps and every client checks before writing
     * @return the connected store; close it when done
     * @throws InvalidConfigurationException    if an argument breaks its rule, or {@code host} is not rank 0's
     * @throws CommunicationTimeoutException if rank 0's store does not answer within {@code timeout}
     * @throws StreamFusionException         if rank 0 cannot serve there, or either side does not know the secret
     */
    public static KeyValueStore connect(int rank, String host, int port, StoreSecret secret, Duration timeout,
            StoreLimits limits) {
        if (rank < 0) {
            throw new InvalidConfigurationException("rank=" + rank, "rank >= 0");
        }
        if (port < (rank == 0 ? 0 : 1) || port > 65_535) {
            throw new InvalidConfigurationException("port=" + port + " for rank " + rank,
                    "1 <= port <= 65535 (rank 0 may give 0 for a free port)");
        }
        Objects.requireNonNull(secret, "secret");
        Objects.requireNonNull(limits, "limits");
        Timeouts.check("store timeout", timeout);
        InetAddress address = resolve(host);
        StoreServer server = null;
        try {
            if (rank == 0) {
                server = new StoreServer(bindable(host, address), port, secret, limits);
                port = server.port();
            }
            return dial(rank, host, address, port, secret, timeout, limits, server);
        } catch (IOException e) {
            closeQuietly(server);
            throw new StreamFusionException("rank " + rank + ": cannot serve the rendezvous store on " + host + ":" + port
                    + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(server);
            throw e;
        }
    }

    private static KeyValueStore dial(int rank, String host, InetAddress address, int port, StoreSecret secret,
            Duration timeout, StoreLimits limits, StoreServer server) {
        long deadline = Timeouts.deadlineNanos(timeout, 1);
        IOException last = null;
        while (deadline - System.nanoTime() > 0) {
            SocketChannel channel = null;
            try {
                // A channel's socket ends a blocked read when its thread is interrupted.
                channel = SocketChannel.open();
                Socket s = channel.socket();
                int left = (int) Math.max(1, Math.min(1000, (deadline - System.nanoTime()) / 1_000_000));
                s.connect(new InetSocketAddress(address, port), left);
                s.setTcpNoDelay(true);
                s.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, (deadline - System.nanoTime()) / 1_000_000)));
                DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
                DataOutputStream out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream()));
                StoreProtocol.Session session = StoreProtocol.connect(s, in, out, secret);
                // A reply takes at most the store's own wait; beyond that the connection is dead.
                s.setSoTimeout((int) Math.min(Integer.MAX_VALUE, Timeouts.saturatedMillis(timeout, 1, 10_000)));
                return new KeyValueStore(rank, timeout, limits, server, s, session);
            } catch (StoreProtocol.ProtocolException e) {
                closeQuietly(channel);
                throw new StreamFusionException("rank " + rank + ": rendezvous store at " + host + ":" + port + ": "
                        + e.getMessage(), e);
            } catch (ClosedByInterruptException e) {
                Thread.currentThread().interrupt();
                throw new StreamFusionException("rank " + rank + ": interrupted while connecting to the rendezvous store", e);
            } catch (IOException e) {
                last = e;
                closeQuietly(channel);
                try {
                    Thread.sleep(50);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new StreamFusionException("rank " + rank + ": interrupted while connecting to the rendezvous store",
                            ie);
                }
            }
        }
        throw new CommunicationTimeoutException(rank, "connect to the rendezvous store at " + host + ":" + port, timeout,
                "rank 0's store did not answer: " + (last == null ? "no attempt" : last.getMessage()));
    }

    private static InetAddress resolve(String host) {
        String rule = "the store's host is a host name or an IP address of rank 0's host";
        if (host == null || host.isBlank()) {
            throw new InvalidConfigurationException("store host='" + host + "'", rule);
        }
        try {
            return InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new InvalidConfigurationException("store host '" + host + "' does not resolve", rule, e);
        }
    }

    /** The system property naming the local address rank 0 binds when the ranks dial another (NAT, a service address). */
    public static final String BIND_PROPERTY = "streamfusion.store.bind";

    /**
     * Rank 0 serves only on the address the ranks dial, so a loopback job is not reachable from the network;
     * behind address translation {@value #BIND_PROPERTY} names the local address to bind instead.
     */
    private static InetAddress bindable(String host, InetAddress address) throws IOException {
        String bind = System.getProperty(BIND_PROPERTY);
        if (bind != null) {
            return resolve(bind);
        }
        if (address.isAnyLocalAddress() || !address.isLoopbackAddress() && NetworkInterface.getByInetAddress(address) == null) {
            throw new InvalidConfigurationException("store host '" + host + "' is " + address.getHostAddress()
                    + ", not an address of rank 0's host", "rank 0 serves on the address the ranks dial (MASTER_ADDR), "
                    + "or on the one -D" + BIND_PROPERTY + "=ADDRESS names when the ranks dial a translated address");
        }
        return address;
    }

    /** {@return the local port of rank 0's server; any other rank gets an InvalidStateException} */
    public int port() {
        if (server == null) {
            throw new InvalidStateException("only rank 0 serves the store");
        }
        return server.port();
    }

    /** Rank 0's server, for the store's own tests; null on other ranks. */
    StoreServer server() {
        return server;
    }

    /**
     * Sets {@code key}, waking every rank waiting for it; a later set replaces the value.
     *
     * @param key   the key: 1..{@link StoreLimits#maxKeyBytes()} UTF-8 bytes, not starting with {@code __}
     * @param value the value, at most {@link StoreLimits#maxValueBytes()} bytes
     * @throws InvalidConfigurationException if the key or value breaks its rule, or the store is full
     */
    public synchronized void set(String key, byte[] value) {
        call(StoreProtocol.SET, key, value, 0);
    }

    /**
     * Waits until {@code key} is set (bounded by the store's timeout), then returns its value.
     *
     * @param key the key
     * @return its value
     * @throws CommunicationTimeoutException if no rank sets it in time
     * @throws RankFailedException if a rank has called {@link #abort}
     * @throws StreamFusionException if the calling thread is interrupted (its flag stays set)
     */
    public synchronized byte[] get(String key) {
        return call(StoreProtocol.GET, key, new byte[0], timeout.toMillis());
    }

    /**
     * Atomically adds {@code delta} to a counter and returns the new value.
     *
     * @param key   the counter, 0 until first added to
     * @param delta the amount to add
     * @return the counter after the addition
     * @throws InvalidConfigurationException if the key holds a value that is not a counter, or it would overflow
     */
    public synchronized long add(String key, long delta) {
        byte[] v = call(StoreProtocol.ADD, key, ByteBuffer.allocate(Long.BYTES).putLong(delta).array(), 0);
        return ByteBuffer.wrap(v).getLong();
    }

    /**
     * A barrier of {@code size} processes under {@code name}; the name should be unique per use.
     *
     * @param name the barrier's name, unique per use
     * @param size processes that must arrive, at least 1
     * @throws CommunicationTimeoutException if not all arrive within the store's timeout
     * @throws RankFailedException if a rank has called {@link #abort}
     */
    public void barrier(String name, int size) {
        if (size < 1) {
            throw new InvalidConfigurationException("barrier '" + name + "' of size " + size, "size >= 1");
        }
        long arrived = add(name + "/count", 1);
        if (arrived == size) {
            set(name + "/open", new byte[] {1});
        }
        get(name + "/open");
    }

    /**
     * Tells every rank that this one failed; their waits fail at once with this message.
     *
     * @param message why, prefixed with this rank in what the others see (cut to 2,000 characters)
     */
    public synchronized void abort(String message) {
        String text = "rank " + rank + ": " + message;
        if (text.length() > ABORT_MESSAGE_CHARS) {
            text = text.substring(0, ABORT_MESSAGE_CHARS) + "...";
        }
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        call(StoreProtocol.ABORT, StoreProtocol.ABORT_KEY, Arrays.copyOf(bytes,
                Math.min(bytes.length, limits.maxValueBytes())), 0);
    }

    private byte[] call(byte op, String key, byte[] value, long waitMillis) {
        check(op, key, value);
        if (broken != null) {
            throw new StreamFusionException("rank " + rank + ": rendezvous store connection is closed (" + broken
                    + "); key '" + key + "'");
        }
        Reply reply;
        try {
            session.writeRequest(new Request(op, key, value, waitMillis));
            reply = session.readReply(limits.maxValueBytes());
        } catch (ClosedByInterruptException e) {
            broken = "interrupted";
            Thread.currentThread().interrupt();
            throw new StreamFusionException("rank " + rank + ": interrupted at rendezvous key '" + key + "'", e);
        } catch (IOException e) {
            broken = e.getMessage();
            closeQuietly(socket);
            throw new StreamFusionException("rank " + rank + ": rendezvous store connection lost at key '" + key + "': "
                    + e.getMessage(), e);
        }
        String text = new String(reply.body(), StandardCharsets.UTF_8);
        return switch (reply.status()) {
            case StoreProtocol.OK -> reply.body();
            case StoreProtocol.TIMEOUT -> throw new CommunicationTimeoutException(rank, "rendezvous key '" + key + "'",
                    timeout, "no rank set it");
            case StoreProtocol.ABORTED -> throw new RankFailedException(-1, "rank " + rank + " stopped waiting for '" + key
                    + "': " + text, null);
            case StoreProtocol.REFUSED -> throw new InvalidConfigurationException("rank " + rank + ": the store refused '"
                    + key + "': " + text, "the store's limits (docs/rendezvous.md)");
            default -> throw new StreamFusionException("rank " + rank + ": bad store reply " + reply.status());
        };
    }

    /** Every rule the server enforces, checked before a byte is written, so a bad call never desynchronises. */
    private void check(byte op, String key, byte[] value) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        int keyBytes = key.getBytes(StandardCharsets.UTF_8).length;
        if (keyBytes < 1 || keyBytes > limits.maxKeyBytes()) {
            throw new InvalidConfigurationException("key of " + keyBytes + " UTF-8 bytes",
                    "1 <= key bytes <= " + limits.maxKeyBytes());
        }
        if (op != StoreProtocol.ABORT && key.startsWith(StoreProtocol.RESERVED_PREFIX)) {
            throw new InvalidConfigurationException("key '" + key + "'", "keys starting with '"
                    + StoreProtocol.RESERVED_PREFIX + "' are the store's own");
        }
        if (value.length > limits.maxValueBytes()) {
            throw new InvalidConfigurationException("value of " + value.length + " bytes for key '" + key + "'",
                    "value bytes <= " + limits.maxValueBytes());
        }
    }

    @Override
    public void close() {
        closeQuietly(socket);
        if (server != null) {
            // Rank 0 may be done before the others have read their last replies: let them hang up first.
            server.close(timeout);
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception ignored) {
            // closing
        }
    }
}
