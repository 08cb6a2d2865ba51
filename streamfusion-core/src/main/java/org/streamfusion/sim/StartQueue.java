package org.streamfusion.sim;

import java.util.Arrays;

/**
 * The engine's transfers waiting to take their links: a binary min-heap on (virtual time, issue order) over
 * parallel arrays, so that the millions of starts of a large layer box nothing. Issue orders are unique, so
 * the order of removal is the one total order, as with any correct priority queue.
 */
final class StartQueue {
    private double[] times = new double[64];
    private long[] orders = new long[64];
    private SimStream[] streams = new SimStream[64];
    private int size;

    boolean isEmpty() {
        return size == 0;
    }

    /** {@return the earliest start's time; the queue is not empty} */
    double peekTime() {
        return times[0];
    }

    /** {@code stream}'s op at its position is ready at {@code time}, issued {@code order}-th. */
    void add(double time, long order, SimStream stream) {
        if (size == times.length) {
            times = Arrays.copyOf(times, size * 2);
            orders = Arrays.copyOf(orders, size * 2);
            streams = Arrays.copyOf(streams, size * 2);
        }
        int i = size++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (!before(time, order, times[parent], orders[parent])) {
                break;
            }
            set(i, times[parent], orders[parent], streams[parent]);
            i = parent;
        }
        set(i, time, order, stream);
    }

    /** Removes the earliest start and returns its stream; the queue is not empty. */
    SimStream poll() {
        SimStream first = streams[0];
        int last = --size;
        double time = times[last];
        long order = orders[last];
        SimStream stream = streams[last];
        streams[last] = null;
        int i = 0;
        int half = size >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            int right = child + 1;
            if (right < size && before(times[right], orders[right], times[child], orders[child])) {
                child = right;
            }
            if (!before(times[child], orders[child], time, order)) {
                break;
            }
            set(i, times[child], orders[child], streams[child]);
            i = child;
        }
        if (size > 0) {
            set(i, time, order, stream);
        }
        return first;
    }

    private static boolean before(double t, long o, double otherT, long otherO) {
        return t != otherT ? Double.compare(t, otherT) < 0 : o < otherO;
    }

    private void set(int i, double time, long order, SimStream stream) {
        times[i] = time;
        orders[i] = order;
        streams[i] = stream;
    }
}
