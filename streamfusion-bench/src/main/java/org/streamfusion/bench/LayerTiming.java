package org.streamfusion.bench;

import java.util.SplittableRandom;
import org.apache.commons.statistics.descriptive.Quantile;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.DistributedAttention;
import org.streamfusion.Plan;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.gpu.CudaRankDevice;
import org.streamfusion.gpu.HostTransfer;

/**
 * How every GPU benchmark of this module times a layer: a fresh attention object, {@code warmup}
 * untimed layers and one bounded synchronisation, then {@code reps} layers each timed with CUDA events
 * on the layer's stream; the median, 10th and 90th percentiles of those times.
 */
public final class LayerTiming {
    /**
     * Milliseconds per layer over {@code reps} timed layers.
     *
     * @param medianMs the median (the mean of the middle two for an even count)
     * @param p10Ms    the 10th percentile (nearest rank: Hyndman and Fan's definition 1)
     * @param p90Ms    the 90th percentile (nearest rank)
     * @param reps     how many layers were timed; the times are NaN when 0
     */
    public record Timing(double medianMs, double p10Ms, double p90Ms, int reps) {
        /**
         * The median and the nearest-rank percentiles of the samples, in any order (Commons Statistics).
         *
         * @param ms milliseconds per layer
         * @return their timing; NaN times and {@code reps = 0} when {@code ms} is empty
         */
        public static Timing of(float[] ms) {
            if (ms.length == 0) {
                return new Timing(Double.NaN, Double.NaN, Double.NaN, 0);
            }
            double[] x = new double[ms.length];
            for (int i = 0; i < x.length; i++) {
                x[i] = ms[i];
            }
            double[] p = NEAREST_RANK.evaluate(x, 0.10, 0.90);
            return new Timing(median(x), p[0], p[1], ms.length);
        }
    }

    private static final Quantile NEAREST_RANK = Quantile.withDefaults().with(Quantile.EstimationMethod.HF1);
    /** Hyndman and Fan's definition 2 at 0.5: the middle value, or the mean of the middle two. */
    private static final Quantile MIDDLE = Quantile.withDefaults().with(Quantile.EstimationMethod.HF2);

    /**
     * The median of values in any order (the mean of the middle two for an even count), by Commons Statistics.
     *
     * @param values at least one value
     * @return their median
     */
    static double median(double... values) {
        return MIDDLE.evaluate(values, 0.5);
    }

    private LayerTiming() {
    }

    /**
     * Times {@code plan} on {@code x = q, k, v, o}; with {@code reps == 0} only warms up.
     *
     * @param dev    this rank's device
     * @param plan   the layer to run
     * @param x      this rank's shards of Q, K, V and the output O, as {@link #seededShard} makes them
     * @param warmup untimed layers first
     * @param reps   timed layers
     * @return the timing of the {@code reps} layers
     */
    public static Timing measure(CudaRankDevice dev, Plan plan, TensorView[] x, int warmup, int reps) {
        try (DistributedAttention attn = DistributedAttention.create(plan, dev)) {
            for (int i = 0; i < warmup; i++) {
                attn.forward(x[0], x[1], x[2], x[3]);
            }
            attn.stream().synchronize(plan + " warm-up");
            float[] ms = new float[reps];
            for (int i = 0; i < reps; i++) {
                ms[i] = HostTransfer.time(attn.stream(), () -> attn.forward(x[0], x[1], x[2], x[3]));
            }
            return Timing.of(ms);
        }
    }

    /**
     * Median milliseconds of {@code reps} rounds on {@code stream}, each timed alone with CUDA events after
     * {@code align} (a barrier) so that rank skew stays out of it; {@code warmup} untimed rounds first.
     *
     * @param round  one round of the work to time, queued on {@code stream}
     * @param align  the barrier run (untimed) before each timed round
     * @param stream the stream the rounds run on; its CUDA events time them
     * @param reps   timed rounds, &gt; 0
     * @param warmup untimed rounds first
     * @return the median milliseconds (the mean of the middle two for an even count)
     * @throws IllegalArgumentException if {@code reps < 1}: there is no median of nothing
     */
    public static double medianRoundMillis(Runnable round, Runnable align, Stream stream, int reps, int warmup) {
        if (reps < 1) {
            throw new IllegalArgumentException("reps=" + reps + ": a median needs at least one timed round");
        }
        for (int i = 0; i < warmup; i++) {
            round.run();
        }
        stream.synchronize("warm-up");
        float[] ms = new float[reps];
        for (int i = 0; i < reps; i++) {
            align.run();
            stream.synchronize("aligned");
            ms[i] = HostTransfer.time(stream, round);
        }
        return Timing.of(ms).medianMs();
    }

    /**
     * This rank's seeded bf16 shard {@code [B, shardRows(n, rank), H, D]} of Q, K and V (uniform in [-1.7, 1.7]) and an
     * output view, allocated from {@code io}: the same inputs for every benchmark of a shape and rank.
     *
     * @param io    the arena the four buffers come from
     * @param shape the layer's global shape
     * @param n     the number of ranks
     * @param rank  this rank
     * @return Q, K, V and O, in that order
     */
    public static TensorView[] seededShard(DeviceArena io, AttentionShape shape, int n, int rank) {
        int rows = shape.shardRows(n, rank);
        long count = (long) shape.batch() * rows * shape.heads() * shape.headDim();
        SplittableRandom rnd = new SplittableRandom(20261201L + 31L * rank);
        TensorView[] x = new TensorView[4];
        for (int i = 0; i < 4; i++) {
            Buffer b = io.allocate(count, DType.BF16);
            if (i < 3) {
                float[] v = new float[Math.toIntExact(count)];
                for (int j = 0; j < v.length; j++) {
                    v[j] = (float) rnd.nextDouble(-1.7, 1.7);
                }
                HostTransfer.upload(b, v);
            }
            x[i] = TensorView.contiguous(b, shape.batch(), rows, shape.heads(), shape.headDim());
        }
        return x;
    }
}
