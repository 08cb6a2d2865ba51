package org.streamfusion.bench;

import java.util.Arrays;
import org.streamfusion.DistributedAttention;
import org.streamfusion.Plan;
import org.streamfusion.backend.TensorView;
import org.streamfusion.gpu.CudaRankDevice;
import org.streamfusion.gpu.HostTransfer;

/**
 * How every GPU benchmark of this module times a layer: a fresh attention object, {@code warmup}
 * untimed layers and one bounded synchronisation, then {@code reps} layers each timed with CUDA events
 * on the layer's stream; the median, 10th and 90th percentiles of those times.
 */
public final class LayerTiming {
    /** Milliseconds per layer over {@code reps} timed layers. */
    public record Timing(double medianMs, double p10Ms, double p90Ms, int reps) {
        /** Nearest-rank percentiles of the samples (any order; the array is sorted in place). */
        public static Timing of(float[] ms) {
            if (ms.length == 0) {
                return new Timing(Double.NaN, Double.NaN, Double.NaN, 0);
            }
            Arrays.sort(ms);
            return new Timing(ms[ms.length / 2], ms[percentileIndex(ms.length, 0.10)], ms[percentileIndex(ms.length, 0.90)],
                    ms.length);
        }

        private static int percentileIndex(int n, double p) {
            return Math.clamp((long) Math.ceil(p * n) - 1, 0, n - 1);
        }
    }

    private LayerTiming() {
    }

    /** Times {@code plan} on {@code x = q, k, v, o}; with {@code reps == 0} only warms up. */
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
}
