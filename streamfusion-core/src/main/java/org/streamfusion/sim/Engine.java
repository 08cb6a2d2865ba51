package org.streamfusion.sim;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Discrete-event resolution of every rank's streams. Ops that hold no shared resource (records, waits,
 * kernels, barriers) are resolved as soon as their stream reaches them; ops that take a link (puts,
 * gets, send/recv) are started in virtual-time order from a queue, so that links serve transfers first
 * come, first served. A stream that reaches a transfer stops until the transfer ends.
 */
final class Engine {
    /** A transfer ready to take its links at {@code time}; ties in issue order. */
    private record Start(double time, long order, Op.TransferOp op) implements Comparable<Start> {
        @Override
        public int compareTo(Start other) {
            return time != other.time ? Double.compare(time, other.time) : Long.compare(order, other.order);
        }
    }

    private final HardwareProfile profile;
    private final Links links;
    private final int worldSize;
    private final List<SimStream> streams;
    private final PriorityQueue<Start> starts = new PriorityQueue<>();
    private final ArrayDeque<SimStream> runnable = new ArrayDeque<>();
    private final Map<Long, ArrayDeque<Op.TransferOp>> sendsWaiting = new HashMap<>();
    private final Map<Long, ArrayDeque<Op.TransferOp>> receivesWaiting = new HashMap<>();
    private final Map<String, Barrier> barriers = new HashMap<>();
    private long order;

    private static final class Barrier {
        int arrived;
        double latest;
        final Op[] ops;

        Barrier(int size) {
            ops = new Op[size];
        }
    }

    Engine(HardwareProfile profile, Links links, int worldSize, List<SimStream> streams) {
        this.profile = profile;
        this.links = links;
        this.worldSize = worldSize;
        this.streams = streams;
    }

    void run() {
        runnable.addAll(streams);
        drain();
        while (!starts.isEmpty()) {
            Start s = starts.poll();
            begin(s.op, s.time);
            drain();
        }
        int stuck = 0;
        SimStream first = null;
        for (SimStream s : streams) {
            if (s.next() != null) {
                stuck++;
                first = first == null ? s : first;
            }
        }
        if (first != null) {
            throw new ScheduleDeadlockException(first.rank, first.name(), first.next().step, stuck);
        }
    }

    private void drain() {
        while (!runnable.isEmpty()) {
            advance(runnable.poll());
        }
    }

    /** Runs a stream's ops until one must wait (for another stream's record, a barrier, or a link). */
    private void advance(SimStream s) {
        Op op;
        while ((op = s.next()) != null) {
            if (op.stream != s) { // a wait for another stream's record
                if (!op.done) {
                    op.addWaiter(s);
                    return;
                }
                if (op.end > s.free) {
                    if (s.isCompute) {
                        double gap = op.end - s.free;
                        if (op.cause == Cause.COMMUNICATION) {
                            s.waitedOnCommunication += gap;
                        } else {
                            s.waitedOnSynchronisation += gap;
                        }
                    }
                    s.free = op.end;
                    s.cause = op.cause;
                }
                s.consumed();
                continue;
            }
            switch (op.kind) {
                case RECORD -> {
                    op.end = s.free;
                    op.cause = s.cause;
                    complete(op);
                }
                case KERNEL -> {
                    Op.KernelOp k = (Op.KernelOp) op;
                    s.free += k.seconds;
                    s.cause = k.attention ? Cause.COMPUTE : Cause.COMMUNICATION;
                    if (k.attention) {
                        s.attentionSeconds += k.seconds;
                    }
                    op.end = s.free;
                    complete(op);
                }
                case PUT, GET, EXCHANGE -> {
                    if (op.started) {
                        return;
                    }
                    op.started = true;
                    starts.add(new Start(s.free, order++, (Op.TransferOp) op));
                    return;
                }
                case BARRIER -> {
                    if (!op.started) {
                        op.started = true;
                        arrive((Op.BarrierOp) op, s.free);
                    }
                    return;
                }
            }
        }
    }

    private void complete(Op op) {
        op.done = true;
        op.stream.consumed();
        if (op.waiter != null) {
            runnable.add(op.waiter);
            op.waiter = null;
            if (op.moreWaiters != null) {
                runnable.addAll(op.moreWaiters);
                op.moreWaiters = null;
            }
        }
    }

    /** Ends a stream's blocking op at {@code end} and lets the stream go on. */
    private void finish(Op op, double end, Cause cause) {
        op.end = end;
        op.cause = cause;
        op.stream.free = end;
        op.stream.cause = cause;
        complete(op);
        runnable.add(op.stream);
    }

    private void begin(Op.TransferOp op, double time) {
        int self = op.stream.rank;
        if (op.kind == Op.Kind.EXCHANGE) {
            post(op, time);
            return;
        }
        boolean local = true;
        for (int i = 0; i < op.peerCount(); i++) {
            local &= op.peer(i) == self;
        }
        double start = time + (local ? profile.launchSeconds() : profile.oneSidedOpSeconds());
        double end = start;
        for (int i = 0; i < op.peerCount(); i++) {
            // A put sends from here; a get is served by the peer's links.
            int source = op.kind == Op.Kind.PUT ? self : op.peer(i);
            int destination = op.kind == Op.Kind.PUT ? op.peer(i) : self;
            end = Math.max(end, links.transfer(source, destination, op.bytes(i), start, op.kind == Op.Kind.GET));
        }
        finish(op, end, Cause.COMMUNICATION);
    }

    /** Posts a group of sends and receives (the queues hold the ops whose half waits for its counterpart); each half starts moving when its counterpart is posted too. */
    private void post(Op.TransferOp op, double time) {
        int self = op.stream.rank;
        op.pending = op.peerCount();
        op.latestEnd = time;
        if (op.pending == 0) {
            finish(op, time, Cause.COMMUNICATION);
            return;
        }
        for (int i = 0; i < op.peerCount(); i++) {
            boolean send = i < op.sendCount;
            int source = send ? self : op.peer(i);
            int destination = send ? op.peer(i) : self;
            long key = ((long) source * worldSize + destination) * 2 + op.lane;
            Map<Long, ArrayDeque<Op.TransferOp>> counterparts = send ? receivesWaiting : sendsWaiting;
            ArrayDeque<Op.TransferOp> waiting = counterparts.get(key);
            if (waiting != null && !waiting.isEmpty()) {
                Op.TransferOp other = waiting.poll();
                long bytes = op.bytes(i);
                double start = time + profile.twoSidedOpSeconds();
                double end = links.transfer(source, destination, bytes, start, false);
                halfDone(op, end);
                halfDone(other, end);
            } else {
                (send ? sendsWaiting : receivesWaiting).computeIfAbsent(key, k -> new ArrayDeque<>())
                        .add(op);
            }
        }
    }

    private void halfDone(Op.TransferOp op, double end) {
        op.latestEnd = Math.max(op.latestEnd, end);
        if (--op.pending == 0) {
            finish(op, op.latestEnd, Cause.COMMUNICATION);
        }
    }

    private void arrive(Op.BarrierOp op, double time) {
        Barrier b = barriers.computeIfAbsent(op.barrierKey, k -> new Barrier(op.members.length));
        op.arrived = time;
        b.ops[b.arrived++] = op;
        b.latest = Math.max(b.latest, time);
        if (b.arrived < op.members.length) {
            return;
        }
        barriers.remove(op.barrierKey);
        double end = b.latest + links.barrierSeconds(op.members);
        for (Op member : b.ops) {
            // The last to arrive waited for nobody: its time is whatever made it late.
            Cause cause = ((Op.BarrierOp) member).arrived >= b.latest ? member.stream.cause : Cause.SYNCHRONISATION;
            finish(member, end, cause);
        }
    }
}
