package org.streamfusion.sim;

/**
 * One stream operation as a schedule enqueues it. A stream does not keep these: {@link SimStream#add} packs
 * each into its primitive arrays (a layer on 512 GPUs enqueues millions of ops, and every object alive until
 * the engine runs costs collector time), so a descriptor is garbage as soon as it is added. Only transfers
 * with several peers and barriers, a few per ring step at most, are kept as they are.
 */
sealed interface Op {
    /** What an op is; {@code WAIT} is a wait for another stream's record (it has no descriptor of its own). */
    enum Kind {
        RECORD, KERNEL, PUT, GET, EXCHANGE, BARRIER, WAIT;

        private static final Kind[] ALL = values();

        static Kind of(int ordinal) {
            return ALL[ordinal];
        }
    }

    /** {@return the stream it is enqueued on} */
    SimStream stream();

    /** {@return the schedule's name for it} */
    String step();

    /** A kernel: its duration, and whether it is attention (compute) or a copy (data movement). */
    record Kernel(SimStream stream, String step, double seconds, boolean attention) implements Op {
    }

    /** A put, get or grouped send/recv: peers and bytes; for EXCHANGE sends first, then {@code sendCount..} receives. */
    record Transfer(Op.Kind kind, SimStream stream, String step, int[] peers, long[] bytes, int sendCount, int lane)
            implements Op {
        int peerCount() {
            return peers.length;
        }

        int peer(int i) {
            return peers[i];
        }

        long bytes(int i) {
            return bytes[i];
        }
    }

    /** A barrier: the team's members, and which of its barriers this is. */
    record Barrier(SimStream stream, String step, int[] members, String barrierKey) implements Op {
    }

    static Op kernel(SimStream s, String step, double seconds, boolean attention) {
        return new Kernel(s, named(s, step), seconds, attention);
    }

    static Op oneSided(Kind kind, SimStream s, String step, int[] peers, long[] bytes) {
        return new Transfer(kind, s, named(s, step), peers, bytes, 0, 0);
    }

    static Op exchange(SimStream s, String step, int[] peers, long[] bytes, int sendCount, int lane) {
        return new Transfer(Kind.EXCHANGE, s, named(s, step), peers, bytes, sendCount, lane);
    }

    static Op barrier(SimStream s, String step, int[] members, String key) {
        return new Barrier(s, named(s, step), members, key);
    }

    /** A kept descriptor drops its step name unless the stream keeps them (strings alive cost collector time). */
    private static String named(SimStream s, String step) {
        return s.keepSteps ? step : null;
    }
}
