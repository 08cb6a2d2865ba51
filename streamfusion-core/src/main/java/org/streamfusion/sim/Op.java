package org.streamfusion.sim;

import java.util.ArrayList;
import java.util.List;

/**
 * One enqueued stream operation and, once the engine has resolved it, its virtual end. A layer on 512 GPUs
 * enqueues millions of them, all alive until the engine runs, so each kind carries only its own fields
 * (a record is the bare op) and a wait for an event has no op at all: the waiting stream's list holds the
 * other stream's record itself. Every object kept costs collector time.
 */
class Op {
    enum Kind {
        RECORD, KERNEL, PUT, GET, EXCHANGE, BARRIER
    }

    final Kind kind;
    final SimStream stream;
    /** The schedule's name for it, or {@code null}: kept only when a deadlock is being named (see Simulator). */
    final String step;

    /** Engine state: resolved; its end; what set that end; streams waiting for this record. */
    boolean done;
    /** A blocking op already handed to the engine (a stream must not post it twice). */
    boolean started;
    double end;
    Cause cause;
    /** Streams waiting for this record: the first, and any more (most records have one or none). */
    SimStream waiter;
    List<SimStream> moreWaiters;

    private Op(Kind kind, SimStream stream, String step) {
        this.kind = kind;
        this.stream = stream;
        this.step = stream.keepSteps ? step : null;
    }

    /** A kernel: its duration, and whether it is attention (compute) or a copy (data movement). */
    static final class KernelOp extends Op {
        final double seconds;
        final boolean attention;

        private KernelOp(SimStream s, String step, double seconds, boolean attention) {
            super(Kind.KERNEL, s, step);
            this.seconds = seconds;
            this.attention = attention;
        }
    }

    /** A put, get or grouped send/recv: peers and bytes; for EXCHANGE sends first, then {@code sendCount..} receives. */
    static final class TransferOp extends Op {
        /** Peers and bytes; a transfer with one peer (most are: a ring step's GatherPull) keeps them inline. */
        private final int[] peers;
        private final long[] bytes;
        private final int onePeer;
        private final long oneBytes;
        final int sendCount;
        final int lane;
        /** EXCHANGE: halves still unmatched or moving, and the latest end so far. */
        int pending;
        double latestEnd;

        private TransferOp(Kind kind, SimStream s, String step, int[] peers, long[] bytes, int sendCount, int lane) {
            super(kind, s, step);
            boolean one = peers.length == 1;
            this.peers = one ? null : peers;
            this.bytes = one ? null : bytes;
            this.onePeer = one ? peers[0] : -1;
            this.oneBytes = one ? bytes[0] : 0;
            this.sendCount = sendCount;
            this.lane = lane;
        }

        int peerCount() {
            return peers == null ? 1 : peers.length;
        }

        int peer(int i) {
            return peers == null ? onePeer : peers[i];
        }

        long bytes(int i) {
            return bytes == null ? oneBytes : bytes[i];
        }
    }

    /** A barrier: the team's members, which of its barriers this is, and when this member arrived. */
    static final class BarrierOp extends Op {
        final int[] members;
        final String barrierKey;
        double arrived;

        private BarrierOp(SimStream s, String step, int[] members, String barrierKey) {
            super(Kind.BARRIER, s, step);
            this.members = members;
            this.barrierKey = barrierKey;
        }
    }

    static Op record(SimStream s, String step) {
        return new Op(Kind.RECORD, s, step);
    }

    static Op kernel(SimStream s, String step, double seconds, boolean attention) {
        return new KernelOp(s, step, seconds, attention);
    }

    static Op oneSided(Kind kind, SimStream s, String step, int[] peers, long[] bytes) {
        return new TransferOp(kind, s, step, peers, bytes, 0, 0);
    }

    static Op exchange(SimStream s, String step, int[] peers, long[] bytes, int sendCount, int lane) {
        return new TransferOp(Kind.EXCHANGE, s, step, peers, bytes, sendCount, lane);
    }

    static Op barrier(SimStream s, String step, int[] members, String key) {
        return new BarrierOp(s, step, members, key);
    }

    void addWaiter(SimStream s) {
        if (waiter == null) {
            waiter = s;
            return;
        }
        if (moreWaiters == null) {
            moreWaiters = new ArrayList<>(2);
        }
        moreWaiters.add(s);
    }
}
