package org.streamfusion.sim;

import java.util.ArrayList;
import java.util.List;

/** One enqueued stream operation and, once the engine has resolved it, its virtual end. */
final class Op {
    enum Kind {
        RECORD, WAIT, KERNEL, PUT, GET, EXCHANGE, BARRIER
    }

    final Kind kind;
    final SimStream stream;
    final String step;
    /** KERNEL: duration; whether it is attention (compute) or a copy (data movement). */
    double seconds;
    boolean attention;
    /** WAIT: the record it waits for. */
    Op target;
    /** PUT, GET, EXCHANGE: peers and bytes; for EXCHANGE sends first, then {@code sendCount..} receives. */
    int[] peers;
    long[] bytes;
    int sendCount;
    int lane;
    /** BARRIER: the team's members and which of its barriers this is. */
    int[] members;
    String barrierKey;

    /** Engine state: resolved; its end; what set that end; streams waiting for this record. */
    boolean done;
    /** A blocking op already handed to the engine (a stream must not post it twice). */
    boolean started;
    double end;
    Cause cause;
    List<SimStream> waiters;
    /** EXCHANGE: halves still unmatched or moving, and the latest end so far; BARRIER: the arrival time. */
    int pending;
    double latestEnd;

    private Op(Kind kind, SimStream stream, String step) {
        this.kind = kind;
        this.stream = stream;
        this.step = step;
    }

    static Op record(SimStream s, String step) {
        return new Op(Kind.RECORD, s, step);
    }

    static Op waitFor(SimStream s, Op target) {
        Op op = new Op(Kind.WAIT, s, target.step); // the step it waits for names it: no new string per wait
        op.target = target;
        return op;
    }

    static Op kernel(SimStream s, String step, double seconds, boolean attention) {
        Op op = new Op(Kind.KERNEL, s, step);
        op.seconds = seconds;
        op.attention = attention;
        return op;
    }

    static Op oneSided(Kind kind, SimStream s, String step, int[] peers, long[] bytes) {
        Op op = new Op(kind, s, step);
        op.peers = peers;
        op.bytes = bytes;
        return op;
    }

    static Op exchange(SimStream s, String step, int[] peers, long[] bytes, int sendCount, int lane) {
        Op op = oneSided(Kind.EXCHANGE, s, step, peers, bytes);
        op.sendCount = sendCount;
        op.lane = lane;
        return op;
    }

    static Op barrier(SimStream s, String step, int[] members, String key) {
        Op op = new Op(Kind.BARRIER, s, step);
        op.members = members;
        op.barrierKey = key;
        return op;
    }

    void addWaiter(SimStream s) {
        if (waiters == null) {
            waiters = new ArrayList<>(2);
        }
        waiters.add(s);
    }
}
