package org.streamfusion;

import java.util.SplittableRandom;

/** Fresh random tensors; the seed goes into every failure message so a failure can be replayed. */
final class Inputs {
    final long seed;
    final float[] q;
    final float[] k;
    final float[] v;

    Inputs(AttentionShape s, long seed) {
        this.seed = seed;
        SplittableRandom rnd = new SplittableRandom(seed);
        int n = Math.toIntExact(s.elements());
        q = gaussian(rnd, n);
        k = gaussian(rnd, n);
        v = gaussian(rnd, n);
    }

    static Inputs fresh(AttentionShape s) {
        return new Inputs(s, System.nanoTime() ^ Thread.currentThread().threadId() * 0x9E3779B97F4A7C15L);
    }

    private static float[] gaussian(SplittableRandom rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            // Standard normal (the JDK's ziggurat, several times cheaper than Box-Muller): scores of order
            // one make the softmax neither flat nor one-hot.
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }
}
