package org.streamfusion.launch;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.streamfusion.CommunicationTimeoutException;
import org.streamfusion.RankFailedException;
import org.streamfusion.StreamFusionException;

/**
 * A TCP key-value store for rendezvous (the NCCL and NVSHMEM unique ids, start and end barriers), served
 * by rank 0 and used by every rank. {@code get} waits for a key; every wait is bounded and names the rank
 * and the key. A rank that fails calls {@link #abort}: every pending and later wait of every rank then
 * fails at once with that rank's message.
 */
public final class KeyValueStore implements AutoCloseable {
    private static final byte SET = 1;
    private static final byte GET = 2;
    private static final byte ADD = 3;
    private static final byte ABORT = 4;
    private static final byte OK = 0;
    private static final byte TIMEOUT = 1;
    private static final byte ABORTED = 2;
    private static final String ABORT_KEY = "__abort__";

    private final int rank;
    private final Duration timeout;
    private final Server server;
    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;

    private KeyValueStore(int rank, Duration timeout, Server server, Socket socket) throws IOException {
        this.rank = rank;
        this.timeout = timeout;
        this.server = server;
        this.socket = socket;
        this.in = new DataInputStream(socket.getInputStream());
        this.out = new DataOutputStream(socket.getOutputStream());
    }

    /**
     * Connects to {@code env}'s master address and port as {@link #connect(int, String, int, Duration)} does.
     *
     * @param env     this process's rank and where rank 0 serves
     * @param timeout bound on connecting and on every later wait
     * @return the connected store; close it when done
     */
    public static KeyValueStore connect(DistributedEnvironment env, Duration timeout) {
        return connect(env.rank(), env.masterAddr(), env.masterPort(), timeout);
    }

    /**
     * Rank 0 serves on {@code port} (0 picks a free one); every rank, rank 0 included, connects.
     *
     * @param rank    this process's rank; rank 0 also serves
     * @param host    where rank 0 serves
     * @param port    the port rank 0 serves on; 0 picks a free one (then only rank 0 can know it)
     * @param timeout bound on connecting and on every later wait
     * @return the connected store; close it when done
     * @throws CommunicationTimeoutException if rank 0's store does not answer within {@code timeout}
     * @throws StreamFusionException if rank 0 cannot serve on {@code port}
     */
    public static KeyValueStore connect(int rank, String host, int port, Duration timeout) {
        Server server = null;
        try {
            if (rank == 0) {
                server = new Server(port);
                port = server.port();
            }
            long deadline = System.nanoTime() + timeout.toNanos();
            IOException last = null;
            while (System.nanoTime() < deadline) {
                Socket s = new Socket();
                try {
                    s.connect(new InetSocketAddress(host, port), (int) Math.max(1, Math.min(1000, timeout.toMillis())));
                    s.setTcpNoDelay(true);
                    // A reply takes at most the store's own wait; beyond that the connection is dead.
                    s.setSoTimeout((int) Math.min(Integer.MAX_VALUE, timeout.toMillis() + 10_000));
                    return new KeyValueStore(rank, timeout, server, s);
                } catch (IOException e) {
                    last = e;
                    s.close();
                    Thread.sleep(50);
                }
            }
            if (server != null) {
                server.close();
            }
            throw new CommunicationTimeoutException(rank, "connect to the rendezvous store at " + host + ":" + port, timeout,
                    "rank 0's store did not answer: " + (last == null ? "no attempt" : last.getMessage()));
        } catch (IOException e) {
            if (server != null) {
                server.close();
            }
            throw new StreamFusionException("rank " + rank + ": cannot serve the rendezvous store on port " + port + ": "
                    + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StreamFusionException("interrupted", e);
        }
    }

    /**
     * The port rank 0 serves on (rank 0 only).
     *
     * @return the local port of rank 0's server
     * @throws IllegalStateException on any other rank
     */
    public int port() {
        if (server == null) {
            throw new IllegalStateException("only rank 0 serves the store");
        }
        return server.port();
    }

    /**
     * Sets {@code key}, waking every rank waiting for it; a later set replaces the value.
     *
     * @param key   the key
     * @param value the value
     */
    public synchronized void set(String key, byte[] value) {
        call(SET, key, value, 0);
    }

    /**
     * Waits until {@code key} is set (bounded by the store's timeout), then returns its value.
     *
     * @param key the key
     * @return its value
     * @throws CommunicationTimeoutException if no rank sets it in time
     * @throws RankFailedException if a rank has called {@link #abort}
     */
    public synchronized byte[] get(String key) {
        return call(GET, key, new byte[0], timeout.toMillis());
    }

    /**
     * Atomically adds {@code delta} to a counter and returns the new value.
     *
     * @param key   the counter, 0 until first added to
     * @param delta the amount to add
     * @return the counter after the addition
     */
    public synchronized long add(String key, long delta) {
        byte[] v = call(ADD, key, java.nio.ByteBuffer.allocate(8).putLong(delta).array(), 0);
        return java.nio.ByteBuffer.wrap(v).getLong();
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
        long arrived = add(name + "/count", 1);
        if (arrived == size) {
            set(name + "/open", new byte[] {1});
        }
        get(name + "/open");
    }

    /**
     * Tells every rank that this one failed; their waits fail at once with this message.
     *
     * @param message why, prefixed with this rank in what the others see
     */
    public synchronized void abort(String message) {
        call(ABORT, ABORT_KEY, ("rank " + rank + ": " + message).getBytes(StandardCharsets.UTF_8), 0);
    }

    private byte[] call(byte op, String key, byte[] value, long waitMillis) {
        try {
            out.writeByte(op);
            out.writeUTF(key);
            out.writeInt(value.length);
            out.write(value);
            out.writeLong(waitMillis);
            out.flush();
            byte status = in.readByte();
            byte[] reply = new byte[in.readInt()];
            in.readFully(reply);
            return switch (status) {
                case OK -> reply;
                case TIMEOUT -> throw new CommunicationTimeoutException(rank, "rendezvous key '" + key + "'", timeout,
                        "no rank set it");
                case ABORTED -> throw new RankFailedException(-1, "rank " + rank + " stopped waiting for '" + key
                        + "': " + new String(reply, StandardCharsets.UTF_8), null);
                default -> throw new StreamFusionException("bad store reply " + status);
            };
        } catch (IOException e) {
            throw new StreamFusionException("rank " + rank + ": rendezvous store connection lost at key '" + key + "': "
                    + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing
        }
        if (server != null) {
            // Rank 0 may be done before the others have read their last replies: let them hang up first.
            server.close(timeout);
        }
    }

    /** Rank 0's side: one thread per connection over a shared map. */
    private static final class Server implements AutoCloseable {
        private final ServerSocket listener;
        private final Map<String, byte[]> data = new HashMap<>();
        private final List<Socket> clients = new CopyOnWriteArrayList<>();
        private final List<Thread> servers = new CopyOnWriteArrayList<>();
        private final Thread acceptor;

        Server(int port) throws IOException {
            listener = new ServerSocket();
            listener.setReuseAddress(true);
            listener.bind(new InetSocketAddress(port));
            acceptor = Thread.ofPlatform().daemon().name("sf-store-accept").start(this::accept);
        }

        int port() {
            return listener.getLocalPort();
        }

        private void accept() {
            while (!listener.isClosed()) {
                try {
                    Socket s = listener.accept();
                    s.setTcpNoDelay(true);
                    clients.add(s);
                    servers.add(Thread.ofPlatform().daemon().name("sf-store-client").start(() -> serve(s)));
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(Socket s) {
            try (s; DataInputStream in = new DataInputStream(s.getInputStream());
                    DataOutputStream out = new DataOutputStream(s.getOutputStream())) {
                while (true) {
                    byte op;
                    try {
                        op = in.readByte();
                    } catch (EOFException | SocketTimeoutException e) {
                        return;
                    }
                    String key = in.readUTF();
                    byte[] value = new byte[in.readInt()];
                    in.readFully(value);
                    long waitMillis = in.readLong();
                    byte status = OK;
                    byte[] reply = new byte[0];
                    synchronized (data) {
                        switch (op) {
                            case SET, ABORT -> {
                                data.putIfAbsent(key, value);
                                if (op == SET) {
                                    data.put(key, value);
                                }
                                data.notifyAll();
                            }
                            case ADD -> {
                                long v = java.nio.ByteBuffer.wrap(value).getLong();
                                byte[] old = data.get(key);
                                long sum = (old == null ? 0 : java.nio.ByteBuffer.wrap(old).getLong()) + v;
                                reply = java.nio.ByteBuffer.allocate(8).putLong(sum).array();
                                data.put(key, reply);
                                data.notifyAll();
                            }
                            case GET -> {
                                long deadline = System.currentTimeMillis() + waitMillis;
                                while (!data.containsKey(key) && !data.containsKey(ABORT_KEY)
                                        && System.currentTimeMillis() < deadline) {
                                    data.wait(Math.max(1, deadline - System.currentTimeMillis()));
                                }
                                if (data.containsKey(ABORT_KEY)) {
                                    status = ABORTED;
                                    reply = data.get(ABORT_KEY);
                                } else if (data.containsKey(key)) {
                                    reply = data.get(key);
                                } else {
                                    status = TIMEOUT;
                                }
                            }
                            default -> {
                                return;
                            }
                        }
                    }
                    out.writeByte(status);
                    out.writeInt(reply.length);
                    out.write(reply);
                    out.flush();
                }
            } catch (IOException | InterruptedException e) {
                // a client went away; the others carry on
            }
        }

        /** Stops accepting, waits (bounded) until every client has closed its connection, then closes. */
        void close(Duration wait) {
            try {
                listener.close();
            } catch (IOException ignored) {
                // closing
            }
            long deadline = System.nanoTime() + wait.toNanos();
            for (Thread t : servers) {
                try {
                    t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            close();
        }

        @Override
        public void close() {
            try {
                listener.close();
            } catch (IOException ignored) {
                // closing
            }
            for (Socket s : clients) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing
                }
            }
            try {
                acceptor.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
