package org.streamfusion.launch;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.streamfusion.Timeouts;
import org.streamfusion.launch.StoreProtocol.Reply;
import org.streamfusion.launch.StoreProtocol.Request;

/**
 * Rank 0's side of the rendezvous store: one platform thread accepts, one virtual thread serves each
 * connection (at most {@link StoreLimits#maxConnections()} at once), and nothing a connection sends before it
 * has proved the job's secret reaches the map. A connection that breaks the protocol is closed; the server
 * and every other connection go on.
 */
final class StoreServer implements AutoCloseable {
    private final ServerSocket listener;
    private final StoreSecret secret;
    private final StoreLimits limits;
    private final Map<String, byte[]> data = new HashMap<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final Set<Thread> servers = ConcurrentHashMap.newKeySet();
    private final Set<Thread> authenticated = ConcurrentHashMap.newKeySet();
    /** Connections parked in a GET: they owe their client nothing until a key is set. */
    private final Set<Thread> waiting = ConcurrentHashMap.newKeySet();
    private final Semaphore slots;
    private final Thread acceptor;
    private final AtomicLong closedForProtocol = new AtomicLong();
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicInteger peakOpen = new AtomicInteger();
    private long storedBytes;

    StoreServer(InetAddress bind, int port, StoreSecret secret, StoreLimits limits) throws IOException {
        this.secret = secret;
        this.limits = limits;
        this.slots = new Semaphore(limits.maxConnections());
        listener = new ServerSocket();
        listener.setReuseAddress(true);
        listener.bind(new InetSocketAddress(bind, port), 128);
        acceptor = Thread.ofPlatform().daemon().name("sf-store-accept").start(this::accept);
    }

    int port() {
        return listener.getLocalPort();
    }

    /** The address it listens on. */
    InetAddress address() {
        return listener.getInetAddress();
    }

    /** Connections closed because they broke the protocol or did not prove the secret (tests). */
    long closedForProtocol() {
        return closedForProtocol.get();
    }

    /** Connections served since start (tests). */
    long accepted() {
        return accepted.get();
    }

    /** The most connections open at once (tests). */
    int peakOpen() {
        return peakOpen.get();
    }

    /** Connections open now (tests). */
    int openConnections() {
        return open.size();
    }

    private void accept() {
        while (!listener.isClosed()) {
            Socket s;
            try {
                s = listener.accept();
            } catch (IOException e) {
                return;
            }
            if (!slots.tryAcquire()) {
                closeQuietly(s);
                continue;
            }
            open.add(s);
            accepted.incrementAndGet();
            peakOpen.accumulateAndGet(open.size(), Math::max);
            Thread t = Thread.ofVirtual().name("sf-store-connection").unstarted(() -> {
                try {
                    serve(s);
                } finally {
                    closeQuietly(s);
                    open.remove(s);
                    servers.remove(Thread.currentThread());
                    authenticated.remove(Thread.currentThread());
                    slots.release();
                }
            });
            servers.add(t);
            t.start();
        }
    }

    private void serve(Socket s) {
        try {
            s.setTcpNoDelay(true);
            DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream()));
            long deadline = System.nanoTime() + limits.handshakeTimeout().toNanos();
            StoreProtocol.Session session = StoreProtocol.accept(s, in, out, secret, deadline);
            authenticated.add(Thread.currentThread());
            while (true) {
                Request r = session.readRequest(limits, limits.frameTimeout().toMillis());
                if (r == null) {
                    return;
                }
                session.writeReply(handle(r));
            }
        } catch (StoreProtocol.ProtocolException e) {
            closedForProtocol.incrementAndGet();
        } catch (IOException e) {
            // the client went away or timed out; the others carry on
        } catch (InterruptedException e) {
            // the server is closing
        }
    }

    private Reply handle(Request r) throws InterruptedException {
        if (r.op() != StoreProtocol.ABORT && r.key().startsWith(StoreProtocol.RESERVED_PREFIX)) {
            return Reply.refused("key '" + r.key() + "' starts with '" + StoreProtocol.RESERVED_PREFIX
                    + "' (rule: those keys are the store's own)");
        }
        lock.lock();
        try {
            return switch (r.op()) {
                case StoreProtocol.SET -> put(r.key(), r.value(), true);
                case StoreProtocol.ABORT -> put(StoreProtocol.ABORT_KEY, r.value(), false);
                case StoreProtocol.ADD -> add(r.key(), r.value());
                default -> get(r.key(), r.waitMillis());
            };
        } finally {
            lock.unlock();
        }
    }

    /** Sets a key within the key and byte bounds; an abort keeps the first message. */
    private Reply put(String key, byte[] value, boolean replace) {
        byte[] old = data.get(key);
        if (old != null && !replace) {
            return new Reply(StoreProtocol.OK, new byte[0]);
        }
        long keyBytes = key.getBytes(StandardCharsets.UTF_8).length;
        long after = storedBytes + value.length + (old == null ? keyBytes : -old.length);
        // The abort is one bounded key beyond the limits: a full store must still let a failing rank stop the job.
        boolean abort = key.equals(StoreProtocol.ABORT_KEY);
        if (!abort && old == null && data.size() >= limits.maxKeys()) {
            return Reply.refused("store holds " + data.size() + " keys (rule: at most " + limits.maxKeys() + ")");
        }
        if (!abort && after > limits.maxStoreBytes()) {
            return Reply.refused("store would hold " + after + " bytes (rule: at most " + limits.maxStoreBytes() + ")");
        }
        data.put(key, value);
        storedBytes = after;
        changed.signalAll();
        return new Reply(StoreProtocol.OK, new byte[0]);
    }

    private Reply add(String key, byte[] delta) {
        if (delta.length != Long.BYTES) {
            return Reply.refused("ADD of " + delta.length + " bytes (rule: a delta is 8 bytes)");
        }
        byte[] old = data.get(key);
        if (old != null && old.length != Long.BYTES) {
            return Reply.refused("key '" + key + "' holds " + old.length + " bytes (rule: a counter is 8 bytes)");
        }
        long base = old == null ? 0 : ByteBuffer.wrap(old).getLong();
        long sum;
        try {
            sum = Math.addExact(base, ByteBuffer.wrap(delta).getLong());
        } catch (ArithmeticException e) {
            return Reply.refused("counter '" + key + "' would overflow (rule: a counter stays within a long)");
        }
        byte[] value = ByteBuffer.allocate(Long.BYTES).putLong(sum).array();
        Reply stored = put(key, value, true);
        return stored.status() == StoreProtocol.OK ? new Reply(StoreProtocol.OK, value) : stored;
    }

    private Reply get(String key, long waitMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMillis);
        while (!data.containsKey(key) && !data.containsKey(StoreProtocol.ABORT_KEY)) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return new Reply(StoreProtocol.TIMEOUT, new byte[0]);
            }
            waiting.add(Thread.currentThread());
            try {
                changed.awaitNanos(left);
            } finally {
                waiting.remove(Thread.currentThread());
            }
        }
        byte[] aborted = data.get(StoreProtocol.ABORT_KEY);
        return aborted != null ? new Reply(StoreProtocol.ABORTED, aborted) : new Reply(StoreProtocol.OK, data.get(key));
    }

    /**
     * Stops accepting, waits (bounded) until every authenticated client has hung up or waits for a key nobody
     * will set, then closes what is left.
     */
    void close(Duration wait) {
        closeQuietly(listener);
        long deadline = Timeouts.deadlineNanos(wait, 1);
        while (!waiting.containsAll(authenticated) && deadline - System.nanoTime() > 0) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        close();
    }

    @Override
    public void close() {
        closeQuietly(listener);
        open.forEach(StoreServer::closeQuietly);
        try {
            acceptor.join(1000);
            for (Thread t : servers) {
                t.interrupt();
                t.join(1000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // closing
        }
    }
}
