package org.streamfusion.launch;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.streamfusion.InvalidStateException;
import org.streamfusion.Timeouts;

/**
 * The rendezvous store's wire format (docs/rendezvous.md): a challenge-response handshake that proves the
 * job's secret both ways, then frames that each carry an HMAC-SHA256 over a direction byte, a sequence
 * number and the frame's bytes, under a key derived from the secret and both nonces.
 */
final class StoreProtocol {
    static final byte SET = 1;
    static final byte GET = 2;
    static final byte ADD = 3;
    static final byte ABORT = 4;
    static final byte OK = 0;
    static final byte TIMEOUT = 1;
    static final byte ABORTED = 2;
    static final byte REFUSED = 3;
    /** Keys starting with this are the store's own (the abort message); no client may set them. */
    static final String RESERVED_PREFIX = "__";
    static final String ABORT_KEY = "__abort__";
    /** A GET waits at most this long: the longest timeout any option accepts. */
    static final long MAX_WAIT_MILLIS = Timeouts.MAX.toMillis();
    static final int NONCE_BYTES = 32;
    static final int MAC_BYTES = 32;
    private static final byte[] MAGIC = {'S', 'F', 'K', 'V', 1};
    private static final byte ACCEPTED = 0x5a;
    private static final SecureRandom RANDOM = new SecureRandom();

    /** A request as it travels: the operation, its key and value, and how long a GET may wait. */
    record Request(byte op, String key, byte[] value, long waitMillis) {
    }

    /** A reply: a status and its bytes (the value, the counter, the abort message or why it was refused). */
    record Reply(byte status, byte[] body) {
        static Reply refused(String why) {
            return new Reply(REFUSED, why.getBytes(StandardCharsets.UTF_8));
        }
    }

    /** Thrown when the peer breaks the protocol: the connection is closed, nothing else happens. */
    static final class ProtocolException extends IOException {
        ProtocolException(String message) {
            super(message);
        }
    }

    private StoreProtocol() {
    }

    /** The server's half of the handshake; returns the session, or throws when the client does not prove the secret. */
    static Session accept(Socket socket, DataInputStream in, DataOutputStream out, StoreSecret secret, long deadline)
            throws IOException {
        byte[] serverNonce = nonce();
        out.write(MAGIC);
        out.write(serverNonce);
        out.flush();
        byte[] magic = new byte[MAGIC.length];
        readFully(socket, in, magic, deadline);
        if (!MessageDigest.isEqual(magic, MAGIC)) {
            throw new ProtocolException("not a StreamFusion store client (bad magic)");
        }
        byte[] clientNonce = new byte[NONCE_BYTES];
        readFully(socket, in, clientNonce, deadline);
        byte[] proof = new byte[MAC_BYTES];
        readFully(socket, in, proof, deadline);
        if (!MessageDigest.isEqual(proof, hmac(secret.key(), "client", serverNonce, clientNonce))) {
            out.writeByte(REFUSED);
            out.flush();
            throw new ProtocolException("the client did not prove the job's secret");
        }
        out.writeByte(ACCEPTED);
        out.write(hmac(secret.key(), "server", clientNonce, serverNonce));
        out.flush();
        return new Session(socket, in, out, hmac(secret.key(), "session", serverNonce, clientNonce), (byte) 'S');
    }

    /** The client's half: proves the secret and checks that the server knows it too. */
    static Session connect(Socket socket, DataInputStream in, DataOutputStream out, StoreSecret secret) throws IOException {
        byte[] magic = new byte[MAGIC.length];
        in.readFully(magic);
        if (!MessageDigest.isEqual(magic, MAGIC)) {
            throw new ProtocolException("the peer is not a StreamFusion rendezvous store of this version");
        }
        byte[] serverNonce = new byte[NONCE_BYTES];
        in.readFully(serverNonce);
        byte[] clientNonce = nonce();
        out.write(MAGIC);
        out.write(clientNonce);
        out.write(hmac(secret.key(), "client", serverNonce, clientNonce));
        out.flush();
        if (in.readByte() != ACCEPTED) {
            throw new ProtocolException("the store refused this rank's secret (" + StoreSecret.VARIABLE
                    + " differs from rank 0's)");
        }
        byte[] proof = new byte[MAC_BYTES];
        in.readFully(proof);
        if (!MessageDigest.isEqual(proof, hmac(secret.key(), "server", clientNonce, serverNonce))) {
            throw new ProtocolException("the server did not prove the job's secret (" + StoreSecret.VARIABLE
                    + " differs from rank 0's, or another process holds the port)");
        }
        return new Session(socket, in, out, hmac(secret.key(), "session", serverNonce, clientNonce), (byte) 'C');
    }

    /**
     * One authenticated connection: every frame written carries a MAC over its direction, its sequence number
     * and its bytes; every frame read is checked the same way before it is used.
     */
    static final class Session {
        private final Socket socket;
        private final DataInputStream in;
        private final DataOutputStream out;
        private final Mac sendMac;
        private final Mac receiveMac;
        private final byte sendDirection;
        private final byte receiveDirection;
        private long sent;
        private long received;
        private long deadline;

        private Session(Socket socket, DataInputStream in, DataOutputStream out, byte[] key, byte direction) {
            this.socket = socket;
            this.in = in;
            this.out = out;
            this.sendMac = mac(key);
            this.receiveMac = mac(key);
            this.sendDirection = direction;
            this.receiveDirection = direction == 'C' ? (byte) 'S' : (byte) 'C';
        }

        void writeRequest(Request r) throws IOException {
            byte[] key = r.key().getBytes(StandardCharsets.UTF_8);
            ByteBuffer b = ByteBuffer.allocate(1 + 2 + key.length + 4 + r.value().length + 8);
            b.put(r.op()).putShort((short) key.length).put(key).putInt(r.value().length).put(r.value()).putLong(r.waitMillis());
            writeFrame(b.array());
        }

        void writeReply(Reply r) throws IOException {
            writeFrame(ByteBuffer.allocate(1 + 4 + r.body().length).put(r.status()).putInt(r.body().length).put(r.body())
                    .array());
        }

        private void writeFrame(byte[] frame) throws IOException {
            sendMac.update(sendDirection);
            sendMac.update(ByteBuffer.allocate(8).putLong(sent++).array());
            out.write(frame);
            out.write(sendMac.doFinal(frame));
            out.flush();
        }

        /**
         * Reads one request, its lengths checked against {@code limits} before anything is allocated; the rest of
         * a frame must come within {@code frameTimeoutMillis} of its first byte.
         *
         * @return the request, or null when the client hung up between frames
         */
        Request readRequest(StoreLimits limits, long frameTimeoutMillis) throws IOException {
            socket.setSoTimeout(0);
            int first = in.read();
            if (first < 0) {
                return null;
            }
            deadline = System.nanoTime() + frameTimeoutMillis * 1_000_000;
            startReceive();
            byte op = (byte) first;
            receiveMac.update(op);
            if (op < SET || op > ABORT) {
                throw new ProtocolException("unknown operation " + op);
            }
            int keyLength = Short.toUnsignedInt(ByteBuffer.wrap(read(2)).getShort());
            if (keyLength < 1 || keyLength > limits.maxKeyBytes()) {
                throw new ProtocolException("key of " + keyLength + " bytes (limit " + limits.maxKeyBytes() + ")");
            }
            byte[] key = read(keyLength);
            int valueLength = ByteBuffer.wrap(read(4)).getInt();
            if (valueLength < 0 || valueLength > limits.maxValueBytes()) {
                throw new ProtocolException("value of " + valueLength + " bytes (limit " + limits.maxValueBytes() + ")");
            }
            byte[] value = read(valueLength);
            long wait = ByteBuffer.wrap(read(8)).getLong();
            checkMac();
            if (wait < 0 || wait > MAX_WAIT_MILLIS) {
                throw new ProtocolException("wait of " + wait + " ms (limit " + MAX_WAIT_MILLIS + ")");
            }
            return new Request(op, new String(key, StandardCharsets.UTF_8), value, wait);
        }

        /** Reads one reply; the client bounds it by its socket timeout and refuses bodies past {@code maxBody}. */
        Reply readReply(int maxBody) throws IOException {
            deadline = 0;
            startReceive();
            byte status = read(1)[0];
            int length = ByteBuffer.wrap(read(4)).getInt();
            if (length < 0 || length > maxBody) {
                throw new ProtocolException("reply of " + length + " bytes (limit " + maxBody + ")");
            }
            byte[] body = read(length);
            checkMac();
            return new Reply(status, body);
        }

        private void startReceive() {
            receiveMac.update(receiveDirection);
            receiveMac.update(ByteBuffer.allocate(8).putLong(received++).array());
        }

        private byte[] read(int n) throws IOException {
            byte[] b = new byte[n];
            readFully(socket, in, b, deadline);
            receiveMac.update(b);
            return b;
        }

        private void checkMac() throws IOException {
            byte[] expected = receiveMac.doFinal();
            byte[] got = new byte[MAC_BYTES];
            readFully(socket, in, got, deadline);
            if (!MessageDigest.isEqual(expected, got)) {
                throw new ProtocolException("frame " + (received - 1) + " failed its MAC check");
            }
        }
    }

    /**
     * Reads {@code b.length} bytes; with a {@code deadline} (nanoTime, 0 for none) the whole read must end by
     * then, so a peer that sends one byte at a time cannot hold the connection past it.
     */
    static void readFully(Socket socket, InputStream in, byte[] b, long deadline) throws IOException {
        int done = 0;
        while (done < b.length) {
            if (deadline != 0) {
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0) {
                    throw new ProtocolException("frame not finished within its timeout");
                }
                socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, left));
            }
            int k;
            try {
                k = in.read(b, done, b.length - done);
            } catch (SocketTimeoutException e) {
                if (deadline == 0) {
                    throw e;
                }
                throw new ProtocolException("frame not finished within its timeout");
            }
            if (k < 0) {
                throw new EOFException("connection closed inside a frame");
            }
            done += k;
        }
    }

    private static byte[] nonce() {
        byte[] n = new byte[NONCE_BYTES];
        RANDOM.nextBytes(n);
        return n;
    }

    private static Mac mac(byte[] key) {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(new SecretKeySpec(key, "HmacSHA256"));
            return m;
        } catch (GeneralSecurityException e) {
            throw new InvalidStateException("HmacSHA256 is missing from this JVM", e);
        }
    }

    private static byte[] hmac(byte[] key, String label, byte[] first, byte[] second) {
        Mac m = mac(key);
        m.update(label.getBytes(StandardCharsets.US_ASCII));
        m.update(first);
        return m.doFinal(second);
    }
}
