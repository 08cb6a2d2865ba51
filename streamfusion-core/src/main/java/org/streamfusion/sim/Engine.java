package org.streamfusion.sim;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Discrete-event resolution of the ranks' streams. Ops that hold no shared resource (records, waits,
 * kernels, barriers) are resolved as soon as their stream reaches them; ops that take a link (puts,
 * gets, send/recv) are started in virtual-time order from a queue, so that links serve transfers first
 * come, first served. A stream that reaches a transfer stops until the transfer ends. Where communication kernels
 * slow attention ({@link HardwareProfile#smContention} above 0), attention kernels start from the same queue and end
 * from a second one, so that every transfer that starts while one runs can move its end ({@link SmShare}); on a GPU
 * whose SMs no transfer of the layer holds, none can, and its kernels are resolved as their streams reach them.
 * Under a {@link Symmetry} the streams are the representatives' alone, each standing for its orbit: an exchange's
 * halves meet in the frame of its destination's representative, SMs and links are the representatives', and a
 * barrier waits for the representatives among its members.
 */
final class Engine {
    private final HardwareProfile profile;
    private final Links links;
    private final int worldSize;
    private final Symmetry symmetry;
    private final List<SimStream> streams;
    /** Streams whose op at their position is a transfer ready to take its links. */
    private final StartQueue starts = new StartQueue();
    /** Attention kernels by their end, while SMs are shared; an end a later transfer moved is stale and skipped. */
    private final StartQueue kernelEnds = new StartQueue();
    /** Null where communication does not slow attention: kernels are then resolved as their streams reach them. */
    private final SmShare share;
    /** Per rank, whether any transfer of the layer holds its SMs: only then its attention kernels take the queues. */
    private final boolean[] sharesSms;
    private final ArrayDeque<SimStream> runnable = new ArrayDeque<>();
    /**
     * Streams whose exchange has a half waiting for its counterpart, by (source, destination, lane) in the frame of the
     * destination's representative.
     */
    private final Map<Long, ArrayDeque<SimStream>> sendsWaiting = new HashMap<>();
    private final Map<Long, ArrayDeque<SimStream>> receivesWaiting = new HashMap<>();
    private final Map<String, Barrier> barriers = new HashMap<>();
    private long order;

    private static final class Barrier {
        int arrived;
        double latest;
        final SimStream[] members;

        Barrier(int size) {
            members = new SimStream[size];
        }
    }

    /**
     * {@code streams}: every rank's, or under a non-trivial {@code symmetry} its representatives'; {@code links} built
     * under the same symmetry.
     */
    Engine(HardwareProfile profile, Links links, Symmetry symmetry, int worldSize, List<SimStream> streams) {
        this.profile = profile;
        this.links = links;
        this.symmetry = symmetry;
        this.worldSize = worldSize;
        this.streams = streams;
        this.share = profile.smContention() > 0 ? new SmShare(profile.smContention(), worldSize) : null;
        this.sharesSms = share == null ? null : smSharingRanks();
    }

    /**
     * The ranks whose SMs some transfer of the layer holds ({@link #holdsSms}): an exchange's other end records its own
     * half, so each rank's own ops decide.
     */
    private boolean[] smSharingRanks() {
        boolean[] sharing = new boolean[worldSize];
        for (SimStream s : streams) {
            for (int i = 0; i < s.size() && !sharing[s.rank]; i++) {
                Op.Kind kind = s.kind(i);
                if (kind != Op.Kind.EXCHANGE && kind != Op.Kind.PUT) {
                    continue;
                }
                Op.Transfer many = s.transfer(i);
                int peers = many == null ? 1 : many.peerCount();
                for (int p = 0; p < peers; p++) {
                    sharing[s.rank] |= holdsSms(kind, s.rank, many == null ? s.onePeer(i) : many.peer(p));
                }
            }
        }
        return sharing;
    }

    /**
     * Whether moving bytes between {@code self} and {@code peer} holds {@code self}'s SMs: NCCL's kernels run at both
     * ends of an exchange (its piece to the rank itself too: the group's kernel copies it), and the SM kernel copies a
     * ScatterPush over NVLink; pulls, NIC transfers and a put to oneself (a launch and a copy in device memory, modelled
     * like the schedules' own copy kernels, which share no SMs either) take none.
     */
    private boolean holdsSms(Op.Kind kind, int self, int peer) {
        return kind == Op.Kind.EXCHANGE || self != peer && kind == Op.Kind.PUT && links.sameMachine(self, peer);
    }

    void run() {
        runnable.addAll(streams);
        drain();
        while (!starts.isEmpty() || !kernelEnds.isEmpty()) {
            // A kernel that ends when a transfer starts is not slowed by it: ends first.
            if (!kernelEnds.isEmpty() && (starts.isEmpty() || kernelEnds.peekTime() <= starts.peekTime())) {
                double time = kernelEnds.peekTime();
                SimStream s = kernelEnds.poll();
                if (s.kernelEnd == time && s.started) {
                    share.end(s);
                    s.attentionSeconds += time - s.kernelBegin;
                    finish(s, time, Cause.COMPUTE);
                }
            } else {
                double time = starts.peekTime();
                begin(starts.poll(), time);
            }
            drain();
        }
        int stuck = 0;
        SimStream first = null;
        for (SimStream s : streams) {
            if (s.position < s.size()) {
                stuck++;
                first = first == null ? s : first;
            }
        }
        if (first != null) {
            // A representative's stream stands for its orbit's.
            throw new ScheduleDeadlockException(first.rank, first.name(), first.step(first.position),
                    stuck * symmetry.orbitSize());
        }
    }

    private void drain() {
        while (!runnable.isEmpty()) {
            advance(runnable.poll());
        }
    }

    /** Runs a stream's ops until one must wait (for another stream's record, a barrier, or a link). */
    private void advance(SimStream s) {
        int size = s.size();
        while (s.position < size) {
            int i = s.position;
            switch (s.kind(i)) {
                case WAIT -> {
                    SimStream target = s.waitTarget(i);
                    int record = s.waitIndex(i);
                    if (target.position <= record) { // not resolved yet
                        target.addWaiter(s, record);
                        return;
                    }
                    double end = target.recordEnd(record);
                    if (end > s.free) {
                        Cause why = target.recordCause(record);
                        if (s.isCompute) {
                            double gap = end - s.free;
                            if (why == Cause.COMMUNICATION) {
                                s.waitedOnCommunication += gap;
                            } else {
                                s.waitedOnSynchronisation += gap;
                            }
                        }
                        s.free = end;
                        s.cause = why;
                    }
                    s.position++;
                }
                case RECORD -> {
                    s.resolveRecord(i, s.free, s.cause);
                    s.position++;
                    s.wakeWaiters(i, runnable);
                }
                case KERNEL -> {
                    double seconds = s.kernelSeconds(i);
                    boolean attention = s.isAttention(i);
                    if (attention && share != null && sharesSms[s.rank]) {
                        queueStart(s);
                        return;
                    }
                    s.free += seconds;
                    s.cause = attention ? Cause.COMPUTE : Cause.COMMUNICATION;
                    if (attention) {
                        s.attentionSeconds += seconds;
                    }
                    s.position++;
                }
                case PUT, GET, EXCHANGE -> {
                    queueStart(s);
                    return;
                }
                case BARRIER -> {
                    if (!s.started) {
                        s.started = true;
                        arrive(s, s.barrier(i), s.free);
                    }
                    return;
                }
            }
        }
    }

    /** Hands the stream's op at its position to the queue of starts, once: it starts when the stream is free. */
    private void queueStart(SimStream s) {
        if (!s.started) {
            s.started = true;
            starts.add(s.free, order++, s);
        }
    }

    /** Ends a stream's blocking op (at its position) at {@code end} and lets the stream go on. */
    private void finish(SimStream s, double end, Cause cause) {
        s.free = end;
        s.cause = cause;
        s.started = false;
        s.position++;
        runnable.add(s);
    }

    private void begin(SimStream s, double time) {
        int i = s.position;
        Op.Kind kind = s.kind(i);
        if (kind == Op.Kind.KERNEL) {
            kernelEnds.add(share.begin(s, time, s.kernelSeconds(i)), order++, s);
            return;
        }
        if (kind == Op.Kind.EXCHANGE) {
            post(s, s.transfer(i), time);
            return;
        }
        int self = s.rank;
        Op.Transfer many = s.transfer(i);
        int peers = many == null ? 1 : many.peerCount();
        boolean local = true;
        for (int p = 0; p < peers; p++) {
            local &= (many == null ? s.onePeer(i) : many.peer(p)) == self;
        }
        double start = time + (local ? profile.launchSeconds() : profile.oneSidedOpSeconds());
        double end = start;
        for (int p = 0; p < peers; p++) {
            int peer = many == null ? s.onePeer(i) : many.peer(p);
            long bytes = many == null ? s.oneBytes(i) : many.bytes(p);
            // A put sends from here; a get is served by the peer's links.
            int source = kind == Op.Kind.PUT ? self : peer;
            int destination = kind == Op.Kind.PUT ? peer : self;
            double landed = links.transfer(source, destination, bytes, start, kind == Op.Kind.GET);
            // A put's sender (this stream's rank, so a representative); a get takes no SMs.
            if (holdsSms(kind, source, destination)) {
                shareSms(source, time, start, landed);
            }
            end = Math.max(end, landed);
        }
        finish(s, end, Cause.COMMUNICATION);
    }

    /** Posts a group of sends and receives (the queues hold the streams whose half waits for its counterpart); each half starts moving when its counterpart is posted too. */
    private void post(SimStream s, Op.Transfer op, double time) {
        int self = s.rank;
        s.pending = op.peerCount();
        s.latestEnd = time;
        if (s.pending == 0) {
            finish(s, time, Cause.COMMUNICATION);
            return;
        }
        for (int i = 0; i < op.peerCount(); i++) {
            boolean send = i < op.sendCount();
            int source = send ? self : op.peer(i);
            int destination = send ? op.peer(i) : self;
            // Both halves in the frame of the destination's representative (where the receive is posted). Scrambled
            // (an odd multiplier is one-to-one): the plain key's low bits repeat across ranks, and at 4096 ranks the
            // map's bins turned into trees.
            int home = symmetry.representative(destination);
            long key = (((long) symmetry.carry(source, destination, home) * worldSize + home) * 2 + op.lane())
                    * 0x9E3779B97F4A7C15L;
            Map<Long, ArrayDeque<SimStream>> counterparts = send ? receivesWaiting : sendsWaiting;
            ArrayDeque<SimStream> waiting = counterparts.get(key);
            if (waiting != null && !waiting.isEmpty()) {
                SimStream other = waiting.poll();
                long bytes = op.bytes(i);
                // A piece to itself meets no peer: NCCL's kernel copies it in device memory, no rendezvous.
                double start = time + (source == destination ? profile.launchSeconds() : profile.twoSidedOpSeconds());
                double end = links.transfer(source, destination, bytes, start, false);
                if (holdsSms(Op.Kind.EXCHANGE, source, destination)) {
                    shareSms(symmetry.representative(source), time, start, end);
                    shareSms(home, time, start, end);
                }
                halfDone(s, end);
                halfDone(other, end);
            } else {
                (send ? sendsWaiting : receivesWaiting).computeIfAbsent(key, k -> new ArrayDeque<>()).add(s);
            }
        }
    }

    /** {@code rank}'s SMs are shared from {@code start} to {@code stop}: the kernels that run then end later. */
    private void shareSms(int rank, double now, double start, double stop) {
        if (share != null) {
            for (SimStream moved : share.busy(rank, now, start, stop)) {
                kernelEnds.add(moved.kernelEnd, order++, moved);
            }
        }
    }

    private void halfDone(SimStream s, double end) {
        s.latestEnd = Math.max(s.latestEnd, end);
        if (--s.pending == 0) {
            finish(s, s.latestEnd, Cause.COMMUNICATION);
        }
    }

    private void arrive(SimStream s, Op.Barrier op, double time) {
        Barrier b = barriers.computeIfAbsent(op.barrierKey(),
                k -> new Barrier(symmetry.representativesAmong(op.members())));
        s.arrived = time;
        b.members[b.arrived++] = s;
        b.latest = Math.max(b.latest, time);
        if (b.arrived < b.members.length) {
            return;
        }
        barriers.remove(op.barrierKey());
        double end = b.latest + links.barrierSeconds(op.members());
        for (SimStream member : b.members) {
            // The last to arrive waited for nobody: its time is whatever made it late.
            Cause cause = member.arrived >= b.latest ? member.cause : Cause.SYNCHRONISATION;
            finish(member, end, cause);
        }
    }
}
