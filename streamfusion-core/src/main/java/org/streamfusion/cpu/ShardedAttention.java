package org.streamfusion.cpu;

import java.util.List;
import org.streamfusion.AttentionShape;
import org.streamfusion.DistributedAttention;
import org.streamfusion.Plan;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.TensorView;

/**
 * Runs one plan on a {@link CpuWorld} from whole-sequence tensors: shards Q, K, V by token block
 * ({@code T_g = [g*S/N, (g+1)*S/N)}), runs {@link DistributedAttention} on every rank, and gathers O.
 */
public final class ShardedAttention {
    private ShardedAttention() {
    }

    /** Global {@code [B, S, H, D]} in, global O out. */
    public static float[] forward(CpuWorld world, Plan plan, float[] q, float[] k, float[] v) {
        return forward(world, plan, q, k, v, 1);
    }

    /** The same, running the layer {@code repeats} times on the same attention object (workspace reuse). */
    public static float[] forward(CpuWorld world, Plan plan, float[] q, float[] k, float[] v, int repeats) {
        AttentionShape s = plan.shape();
        int n = world.topology().worldSize();
        int sl = s.localSeqLen(n);
        List<float[]> outs = world.run(dev -> {
            int g = dev.rank();
            try (DeviceArena io = dev.newArena(); DistributedAttention attn = DistributedAttention.create(plan, dev)) {
                TensorView[] in = new TensorView[3];
                float[][] glob = {q, k, v};
                for (int i = 0; i < 3; i++) {
                    Buffer b = io.allocate((long) s.batch() * sl * s.heads() * s.headDim(), s.dtype());
                    CpuBuffer.of(b).write(shard(glob[i], s, n, g));
                    in[i] = TensorView.contiguous(b, s.batch(), sl, s.heads(), s.headDim());
                }
                Buffer ob = io.allocate((long) s.batch() * sl * s.heads() * s.headDim(), s.dtype());
                TensorView o = TensorView.contiguous(ob, s.batch(), sl, s.heads(), s.headDim());
                for (int i = 0; i < repeats; i++) {
                    attn.forward(in[0], in[1], in[2], o);
                }
                attn.stream().synchronize("rank " + g + " forward done");
                return CpuBuffer.of(ob).read();
            }
        });
        float[] out = new float[q.length];
        for (int g = 0; g < n; g++) {
            unshard(outs.get(g), out, s, n, g);
        }
        return out;
    }

    /** Tokens {@code [g*S/N, (g+1)*S/N)} of every batch: {@code [B, S/N, H, D]}. */
    public static float[] shard(float[] x, AttentionShape s, int n, int g) {
        int sl = s.seqLen() / n;
        int row = s.heads() * s.headDim();
        float[] out = new float[s.batch() * sl * row];
        for (int b = 0; b < s.batch(); b++) {
            System.arraycopy(x, (b * s.seqLen() + g * sl) * row, out, b * sl * row, sl * row);
        }
        return out;
    }

    /** The inverse of {@link #shard}: writes rank {@code g}'s tokens back into the whole-sequence array. */
    public static void unshard(float[] part, float[] x, AttentionShape s, int n, int g) {
        int sl = s.seqLen() / n;
        int row = s.heads() * s.headDim();
        for (int b = 0; b < s.batch(); b++) {
            System.arraycopy(part, b * sl * row, x, (b * s.seqLen() + g * sl) * row, sl * row);
        }
    }
}
