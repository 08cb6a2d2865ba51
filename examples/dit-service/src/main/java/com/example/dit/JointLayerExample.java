package com.example.dit;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.streamfusion.AttentionShape;
import org.streamfusion.DistributedAttention;
import org.streamfusion.JointText;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.planning.Planner;

/**
 * What a DiT service does with StreamFusion-J, on the CPU path: it holds its own activations (here in
 * shared native memory, one rank per thread), wraps them without a copy, and runs one Flux-shaped joint
 * attention layer (image tokens sharded over 2 machines x 2 GPUs, a padded prompt every rank holds whole)
 * on its own stream. The sizes are Flux's heads and width with fewer tokens, so that it runs in seconds;
 * the image length does not divide by the 4 ranks. It checks itself against float64 attention.
 */
public final class JointLayerExample {
    static final int HEADS = 24;
    static final int DIM = 128;
    static final int IMAGE = 601;
    static final int TEXT = 64;
    static final int PROMPT = 41; // the prompt's real tokens; the rest of the text segment is padding

    public static void main(String[] args) {
        Topology topology = Topology.of(2, 2);
        AttentionShape shape = AttentionShape.of(1, IMAGE, HEADS, DIM);
        Planner planner = Planner.withDefaults();
        Plan plan = planner.best(shape, topology, Method.STREAMFUSION).withJointText(TEXT);
        System.out.println("plan: " + plan);

        SplittableRandom rnd = new SplittableRandom(2026);
        float[][] image = {random(rnd, IMAGE), random(rnd, IMAGE), random(rnd, IMAGE)};
        float[][] text = {random(rnd, TEXT), random(rnd, TEXT), random(rnd, TEXT)};
        int row = HEADS * DIM;

        float[] imageOut = new float[IMAGE * row];
        float[] textOut;
        try (CpuWorld world = CpuWorld.create(topology)) {
            List<float[][]> outs = world.run(rank -> {
                int rows = plan.shardRows(rank.rank());
                int start = plan.shardStart(rank.rank());
                // The service's own memory: its image shard (Q, K, V, O) and the whole text segment.
                try (Arena memory = Arena.ofShared(); DeviceArena streams = rank.newArena();
                        DistributedAttention attention = DistributedAttention.create(plan, rank)) {
                    TensorView[] x = new TensorView[4];
                    TensorView[] t = new TensorView[4];
                    MemorySegment[] outputs = new MemorySegment[2];
                    for (int i = 0; i < 4; i++) {
                        MemorySegment shard = memory.allocate((long) rows * row * Float.BYTES, 64);
                        MemorySegment whole = memory.allocate((long) TEXT * row * Float.BYTES, 64);
                        if (i == 3) {
                            outputs[0] = shard;
                            outputs[1] = whole;
                        }
                        if (i < 3) {
                            MemorySegment.copy(image[i], start * row, shard, ValueLayout.JAVA_FLOAT, 0, rows * row);
                            MemorySegment.copy(text[i], 0, whole, ValueLayout.JAVA_FLOAT, 0, TEXT * row);
                        }
                        x[i] = rank.wrap(shard, 1, rows, HEADS, DIM);
                        t[i] = rank.wrap(whole, 1, TEXT, HEADS, DIM);
                    }
                    Stream mine = streams.createStream("service");
                    attention.forward(x[0], x[1], x[2], x[3], new JointText(t[0], t[1], t[2], t[3], new int[] {PROMPT}),
                            mine);
                    mine.synchronize("service stream, rank " + rank.rank());
                    // o and the text o are the service's own memory: the layer wrote them in place.
                    return new float[][] {outputs[0].toArray(ValueLayout.JAVA_FLOAT),
                        outputs[1].toArray(ValueLayout.JAVA_FLOAT)};
                }
            });
            for (int g = 0; g < outs.size(); g++) {
                System.arraycopy(outs.get(g)[0], 0, imageOut, plan.shardStart(g) * row, outs.get(g)[0].length);
            }
            textOut = outs.get(0)[1];
            for (int g = 1; g < outs.size(); g++) {
                if (!Arrays.equals(textOut, outs.get(g)[1])) {
                    throw new IllegalStateException("the text output of rank " + g + " differs from rank 0's");
                }
            }
        }

        // float64 attention over [image; text] queries and [image; prompt] keys.
        float[] q = concat(image[0], IMAGE * row, text[0], TEXT * row);
        float[] k = concat(image[1], IMAGE * row, text[1], PROMPT * row);
        float[] v = concat(image[2], IMAGE * row, text[2], PROMPT * row);
        double[] ref = ReferenceAttention.attention(q, k, v, 1, IMAGE + TEXT, IMAGE + PROMPT, HEADS, DIM,
                shape.softmaxScale());
        float[] got = concat(imageOut, IMAGE * row, textOut, TEXT * row);
        double err = ReferenceAttention.relativeError(got, ref);
        System.out.printf("joint layer on 4 ranks, S=%d image + %d text tokens (prompt %d), H=%d, D=%d:"
                + " relative error %.2e against float64%n", IMAGE, TEXT, PROMPT, HEADS, DIM, err);
        if (!(err <= 1e-5)) {
            throw new IllegalStateException("error " + err + " exceeds 1e-5");
        }
    }

    private static float[] random(SplittableRandom rnd, int tokens) {
        float[] x = new float[tokens * HEADS * DIM];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }

    private static float[] concat(float[] a, int na, float[] b, int nb) {
        float[] out = new float[na + nb];
        System.arraycopy(a, 0, out, 0, na);
        System.arraycopy(b, 0, out, na, nb);
        return out;
    }
}
