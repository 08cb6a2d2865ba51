package org.streamfusion.launch;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;

/**
 * A second process that speaks the store's old, unauthenticated protocol: GET, SET, ADD and ABORT frames
 * (and one forged proof), each on its own connection; prints how many bytes each got past the challenge.
 */
public final class StoreIntruder {
    /** The server's challenge: magic, version and a 32-byte nonce. */
    private static final int CHALLENGE = 5 + 32;

    private StoreIntruder() {
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        String[] names = {"GET", "SET", "ADD", "ABORT"};
        for (int op = 1; op <= 4; op++) {
            System.out.println(names[op - 1] + " " + attempt(port, oldFrame((byte) op, op == 4 ? "__abort__"
                    : "sf/nccl-unique-id", 8)));
        }
        byte[] forged = new byte[5 + 64];
        new java.util.Random(7).nextBytes(forged);
        System.arraycopy(new byte[] {'S', 'F', 'K', 'V', 1}, 0, forged, 0, 5);
        System.out.println("FORGED " + attempt(port, concatAll(forged, oldFrame((byte) 2, "sf/nccl-unique-id", 0))));
    }

    /** A frame of the old protocol: op, a writeUTF key, a value length (as given) and up to 8 value bytes, a wait. */
    static byte[] oldFrame(byte op, String key, int valueLength) {
        try {
            var bytes = new java.io.ByteArrayOutputStream();
            var out = new DataOutputStream(bytes);
            out.writeByte(op);
            out.writeUTF(key);
            out.writeInt(valueLength);
            out.write(new byte[Math.max(0, Math.min(valueLength, 8))]);
            out.writeLong(1000);
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String attempt(int port, byte[] frame) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            InputStream in = s.getInputStream();
            in.readNBytes(CHALLENGE);
            s.getOutputStream().write(frame);
            int answered = 0;
            boolean closed = false;
            try {
                while (in.read() >= 0) {
                    answered++;
                }
                closed = true;
            } catch (SocketTimeoutException e) {
                closed = false;
            } catch (IOException reset) {
                closed = true;
            }
            return "answered=" + answered + " closed=" + closed;
        }
    }

    private static byte[] concatAll(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
