package org.streamfusion.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The SMs a GPU's attention shares with its communication kernels ({@link HardwareProfile#smContention}): while a
 * two-sided exchange (NCCL's kernels, at both ends) or an SM-kernel ScatterPush over NVLink (at its sender) moves
 * bytes, an attention kernel on that GPU runs at {@code 1 - contention} of its rate. Each GPU keeps the intervals
 * its SMs are shared, merged and in time order, and the attention kernels running on it, whose ends move later when
 * an interval comes that overlaps them. Intervals are reserved when their transfers start, in virtual-time order,
 * so none starts before the present: those that ended before it are dropped.
 */
final class SmShare {
    private final double rate;
    private final double[][] from;
    private final double[][] to;
    private final int[] count;
    private final List<List<SimStream>> running;

    SmShare(double contention, int worldSize) {
        this.rate = 1 - contention;
        this.from = new double[worldSize][8];
        this.to = new double[worldSize][8];
        this.count = new int[worldSize];
        this.running = new ArrayList<>(worldSize);
        for (int r = 0; r < worldSize; r++) {
            running.add(new ArrayList<>(2));
        }
    }

    /** Starts {@code s}'s attention kernel of {@code seconds} at full rate on its GPU at {@code now}; returns its end. */
    double begin(SimStream s, double now, double seconds) {
        s.kernelBegin = now;
        s.kernelProgressedTo = now;
        s.kernelWorkLeft = seconds;
        s.kernelEnd = end(s.rank, now, seconds);
        running.get(s.rank).add(s);
        return s.kernelEnd;
    }

    /** {@code s}'s kernel has ended. */
    void end(SimStream s) {
        running.get(s.rank).remove(s);
    }

    /**
     * {@code rank}'s SMs are shared from {@code start} to {@code stop}, {@code now <= start}; returns the kernels
     * running on it whose end this moved, each with its new {@link SimStream#kernelEnd}.
     */
    List<SimStream> busy(int rank, double now, double start, double stop) {
        if (!(stop > start)) {
            return List.of();
        }
        // Intervals before now are final: take every running kernel's progress up to now before the past is dropped.
        for (SimStream s : running.get(rank)) {
            s.kernelWorkLeft = Math.max(0, s.kernelWorkLeft - work(rank, s.kernelProgressedTo, now));
            s.kernelProgressedTo = now;
        }
        insert(rank, now, start, stop);
        List<SimStream> moved = List.of();
        for (SimStream s : running.get(rank)) {
            if (start < s.kernelEnd) {
                // More sharing never ends a kernel sooner; the max keeps rounding from moving an end earlier.
                double end = Math.max(s.kernelEnd, end(rank, now, s.kernelWorkLeft));
                if (end != s.kernelEnd) {
                    s.kernelEnd = end;
                    moved = moved.isEmpty() ? new ArrayList<>(2) : moved;
                    moved.add(s);
                }
            }
        }
        return moved;
    }

    /** Full-rate seconds of work a kernel does on {@code rank} from {@code a} to {@code b}. */
    private double work(int rank, double a, double b) {
        double done = b - a;
        for (int i = 0; i < count[rank]; i++) {
            double overlap = Math.min(b, to[rank][i]) - Math.max(a, from[rank][i]);
            if (overlap > 0) {
                done -= (1 - rate) * overlap;
            }
        }
        return done;
    }

    /** When {@code work} full-rate seconds started at {@code t} on {@code rank} end. */
    private double end(int rank, double t, double work) {
        double[] f = from[rank];
        double[] e = to[rank];
        for (int i = 0; i < count[rank]; i++) {
            if (e[i] <= t) {
                continue;
            }
            if (f[i] > t) {
                if (work <= f[i] - t) {
                    return t + work;
                }
                work -= f[i] - t;
                t = f[i];
            }
            double shared = (e[i] - t) * rate;
            if (work <= shared) {
                return t + work / rate;
            }
            work -= shared;
            t = e[i];
        }
        return t + work;
    }

    /** Adds [start, stop] to rank's merged intervals, dropping those over before {@code now}. */
    private void insert(int rank, double now, double start, double stop) {
        double[] f = from[rank];
        double[] e = to[rank];
        int n = count[rank];
        int kept = 0;
        for (int i = 0; i < n; i++) { // drop the past, merge what overlaps [start, stop]
            if (e[i] <= now) {
                continue;
            }
            if (e[i] >= start && f[i] <= stop) {
                start = Math.min(start, f[i]);
                stop = Math.max(stop, e[i]);
                continue;
            }
            f[kept] = f[i];
            e[kept] = e[i];
            kept++;
        }
        if (kept == f.length) {
            from[rank] = f = Arrays.copyOf(f, kept * 2);
            to[rank] = e = Arrays.copyOf(e, kept * 2);
        }
        int at = kept;
        while (at > 0 && f[at - 1] > start) {
            f[at] = f[at - 1];
            e[at] = e[at - 1];
            at--;
        }
        f[at] = start;
        e[at] = stop;
        count[rank] = kept + 1;
    }
}
