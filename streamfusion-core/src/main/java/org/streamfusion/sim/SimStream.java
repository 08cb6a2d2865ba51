package org.streamfusion.sim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntUnaryOperator;
import org.streamfusion.WrongBackendException;
import org.streamfusion.backend.Event;
import org.streamfusion.backend.Stream;
import org.streamfusion.spi.BackendStream;

/**
 * A stream of the simulating backend: the ops enqueued on it, in order, and where the engine has got to
 * in them. Nothing runs when an op is enqueued; the {@link Engine} gives every op its virtual end once all
 * ranks have enqueued the layer. Ops are packed two longs each into one array, not kept as objects (a layer on
 * 512 GPUs enqueues millions, all alive until the engine runs; one array keeps an op's words on one cache line):
 * the first long holds the kind's ordinal in its low byte and an int above it, the second a long. Per kind, the
 * long and the int:
 * <ul>
 * <li>RECORD: once resolved, its end (long bits) and what set it ({@link Cause} ordinal);</li>
 * <li>KERNEL: its seconds (long bits) and 1 for attention;</li>
 * <li>PUT, GET with one peer: bytes and peer; with several, {@code -1 - i} for descriptor {@code i} of {@code kept};</li>
 * <li>EXCHANGE, BARRIER: descriptor {@code i} of {@code kept};</li>
 * <li>WAIT: the index of the record waited for, and its stream's index in {@code targets}.</li>
 * </ul>
 * Public only for {@link Stream}'s permits.
 */
final class SimStream implements BackendStream {
    final int rank;
    private final String name;
    final boolean isCompute;
    /** Whether this stream's ops keep their step names (only to name the step of a deadlock). */
    final boolean keepSteps;

    /** Op {@code i}: kind and int in {@code ops[2i]}, the long in {@code ops[2i + 1]}. */
    private long[] ops;
    private String[] steps;
    private int size;
    /** The streams whose records this one waits for (the rank's other streams: a handful). */
    private SimStream[] targets = new SimStream[0];
    private final List<Op> kept = new ArrayList<>();

    /** Engine state: the next op to run, the virtual time the stream is free, what set that time. */
    int position;
    double free;
    Cause cause = Cause.COMPUTE;
    double attentionSeconds;
    double waitedOnCommunication;
    double waitedOnSynchronisation;
    /** Engine state of the op at {@code position}: handed to the engine; exchange halves pending; barrier arrival. */
    boolean started;
    int pending;
    double latestEnd;
    double arrived;
    /** The attention kernel this stream runs while SMs are shared ({@link SmShare}): begin, progress, end. */
    double kernelBegin;
    double kernelProgressedTo;
    double kernelWorkLeft;
    double kernelEnd;
    /** Streams waiting for a record of this one, and which record each waits for, in the order they came. */
    private SimStream[] waiters = new SimStream[2];
    private int[] waitedIndex = new int[2];
    private int waiterCount;

    SimStream(int rank, String name, boolean keepSteps) {
        this(rank, name, keepSteps, 16);
    }

    /** A stream with room for {@code capacity} ops before its arrays grow. */
    SimStream(int rank, String name, boolean keepSteps, int capacity) {
        this.keepSteps = keepSteps;
        this.rank = rank;
        this.name = name;
        this.isCompute = name.equals("compute");
        int room = Math.max(capacity, 16);
        this.ops = new long[2 * room];
        this.steps = keepSteps ? new String[room] : null;
    }

    @Override
    public String name() {
        return name;
    }

    /** Appends {@code op}, which must be this stream's. */
    void add(Op op) {
        switch (op) {
            case Op.Kernel k -> append(Op.Kind.KERNEL, k.attention() ? 1 : 0, Double.doubleToRawLongBits(k.seconds()),
                    k.step());
            case Op.Transfer t when t.kind() != Op.Kind.EXCHANGE && t.peerCount() == 1 ->
                    append(t.kind(), t.peer(0), t.bytes(0), t.step());
            case Op.Transfer t -> appendKept(t.kind(), t);
            case Op.Barrier b -> appendKept(Op.Kind.BARRIER, b);
        }
    }

    /** Appends a PUT or GET with one peer, as {@code add} would pack it. */
    void addOnePeer(Op.Kind kind, int peer, long bytes, String step) {
        append(kind, peer, bytes, step);
    }

    private void appendKept(Op.Kind kind, Op op) {
        kept.add(op);
        int i = kept.size() - 1;
        append(kind, kind == Op.Kind.EXCHANGE || kind == Op.Kind.BARRIER ? i : -1 - i, 0, op.step());
    }

    private void append(Op.Kind kind, int i, long l, String step) {
        if (2 * size == ops.length) {
            ops = Arrays.copyOf(ops, 4 * size);
            steps = keepSteps ? Arrays.copyOf(steps, 2 * size) : null;
        }
        ops[2 * size] = (long) i << KIND_BITS | kind.ordinal();
        ops[2 * size + 1] = l;
        if (keepSteps) {
            steps[size] = step;
        }
        size++;
    }

    /** {@return how many ops were enqueued} */
    int size() {
        return size;
    }

    private static final int KIND_BITS = 8;

    Op.Kind kind(int i) {
        return Op.Kind.of((int) (ops[2 * i] & ((1 << KIND_BITS) - 1)));
    }

    private int intOf(int i) {
        return (int) (ops[2 * i] >> KIND_BITS);
    }

    private long longOf(int i) {
        return ops[2 * i + 1];
    }

    /** The step name of op {@code i} (a wait's is its record's), or {@code null} without {@link #keepSteps}. */
    String step(int i) {
        if (kind(i) == Op.Kind.WAIT) {
            return waitTarget(i).step(waitIndex(i));
        }
        return keepSteps ? steps[i] : null;
    }

    double kernelSeconds(int i) {
        return Double.longBitsToDouble(longOf(i));
    }

    boolean isAttention(int i) {
        return intOf(i) == 1;
    }

    /** A PUT, GET or EXCHANGE with several peers, or any EXCHANGE: its descriptor; {@code null} for one peer inline. */
    Op.Transfer transfer(int i) {
        int k = intOf(i);
        if (kind(i) == Op.Kind.EXCHANGE) {
            return (Op.Transfer) kept.get(k);
        }
        return k < 0 ? (Op.Transfer) kept.get(-1 - k) : null;
    }

    /** The single peer of a one-peer PUT or GET. */
    int onePeer(int i) {
        return intOf(i);
    }

    long oneBytes(int i) {
        return longOf(i);
    }

    Op.Barrier barrier(int i) {
        return (Op.Barrier) kept.get(intOf(i));
    }

    SimStream waitTarget(int i) {
        return targets[intOf(i)];
    }

    int waitIndex(int i) {
        return (int) longOf(i);
    }

    /** Resolves record {@code i}: it ends at {@code end}, set by {@code why}. */
    void resolveRecord(int i, double end, Cause why) {
        ops[2 * i] = (long) why.ordinal() << KIND_BITS | Op.Kind.RECORD.ordinal();
        ops[2 * i + 1] = Double.doubleToRawLongBits(end);
    }

    double recordEnd(int i) {
        return Double.longBitsToDouble(longOf(i));
    }

    Cause recordCause(int i) {
        return CAUSES[intOf(i)];
    }

    private static final Cause[] CAUSES = Cause.values();

    /** {@code s} waits for this stream's record {@code index}. */
    void addWaiter(SimStream s, int index) {
        if (waiterCount == waiters.length) {
            waiters = Arrays.copyOf(waiters, waiterCount * 2);
            waitedIndex = Arrays.copyOf(waitedIndex, waiterCount * 2);
        }
        waiters[waiterCount] = s;
        waitedIndex[waiterCount++] = index;
    }

    /** Moves the streams waiting for record {@code index} to {@code into}, in the order they came. */
    void wakeWaiters(int index, ArrayDeque<SimStream> into) {
        int kept = 0;
        for (int w = 0; w < waiterCount; w++) {
            if (waitedIndex[w] == index) {
                into.add(waiters[w]);
            } else {
                waiters[kept] = waiters[w];
                waitedIndex[kept++] = waitedIndex[w];
            }
        }
        Arrays.fill(waiters, kept, waiterCount, null);
        waiterCount = kept;
    }

    @Override
    public void record(Event event, String step) {
        SimEvent.of(event).set(this, size);
        append(Op.Kind.RECORD, 0, 0, step);
    }

    @Override
    public void waitFor(Event event) {
        SimEvent e = SimEvent.of(event);
        // Nothing to wait for on an event never recorded (as cudaStreamWaitEvent), or recorded on this
        // stream (stream order already holds).
        if (e.stream() != null && e.stream() != this) {
            append(Op.Kind.WAIT, targetSlot(e.stream()), e.index(), null);
        }
    }

    private int targetSlot(SimStream target) {
        for (int t = 0; t < targets.length; t++) {
            if (targets[t] == target) {
                return t;
            }
        }
        targets = Arrays.copyOf(targets, targets.length + 1);
        targets[targets.length - 1] = target;
        return targets.length - 1;
    }

    /** Nothing to wait for on the host: virtual time is resolved for all ranks at once, after the layer. */
    @Override
    public void synchronize(String step) {
    }

    /**
     * Whether this stream is {@code original}'s image under a rotation that carries each rank {@code p} onto
     * {@code image.applyAsInt(p)}: the same name and ops in the same order, durations, sizes, lanes and waits the same,
     * every peer and barrier member carried. Nothing resolved yet on either.
     */
    boolean isImageOf(SimStream original, IntUnaryOperator image) {
        if (size != original.size || !name.equals(original.name) || targets.length != original.targets.length) {
            return false;
        }
        for (int t = 0; t < targets.length; t++) {
            if (!targets[t].name.equals(original.targets[t].name)) {
                return false;
            }
        }
        for (int i = 0; i < size; i++) {
            Op.Kind kind = kind(i);
            if (kind != original.kind(i)) {
                return false;
            }
            boolean same = switch (kind) {
                case RECORD, KERNEL, WAIT -> ops[2 * i] == original.ops[2 * i] && longOf(i) == original.longOf(i);
                case PUT, GET -> transfer(i) == null
                        ? original.transfer(i) == null && intOf(i) == image.applyAsInt(original.intOf(i))
                                && longOf(i) == original.longOf(i)
                        : original.transfer(i) != null && isImage(transfer(i), original.transfer(i), image);
                case EXCHANGE -> isImage(transfer(i), original.transfer(i), image);
                case BARRIER -> sameMembers(barrier(i).members(), original.barrier(i).members(), image);
            };
            if (!same) {
                return false;
            }
        }
        return true;
    }

    private static boolean isImage(Op.Transfer a, Op.Transfer original, IntUnaryOperator image) {
        if (a.peerCount() != original.peerCount() || a.sendCount() != original.sendCount()
                || a.lane() != original.lane() || !Arrays.equals(a.bytes(), original.bytes())) {
            return false;
        }
        for (int p = 0; p < a.peerCount(); p++) {
            if (a.peer(p) != image.applyAsInt(original.peer(p))) {
                return false;
            }
        }
        return true;
    }

    /** A barrier's members under the rotation: the same ranks, listed in rank order, as every member lists them. */
    private static boolean sameMembers(int[] members, int[] original, IntUnaryOperator image) {
        return Arrays.equals(members, Arrays.stream(original).map(image).sorted().toArray());
    }

    static SimStream of(Stream s) {
        return WrongBackendException.require(SimStream.class, s, "stream");
    }
}
