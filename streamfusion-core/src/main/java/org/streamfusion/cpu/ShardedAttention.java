package org.streamfusion.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.streamfusion.AttentionShape;
import org.streamfusion.DistributedAttention;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.JointText;
import org.streamfusion.Plan;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.TensorView;

/**
 * Runs one plan on a {@link CpuWorld} from whole-sequence tensors: shards Q, K, V by token block
 * ({@code T_g = [shardStart(g), shardStart(g) + shardRows(g))}, {@code [g*S/N, (g+1)*S/N)} when N divides S), runs {@link DistributedAttention} on every rank, and gathers O.
 *
 * <p>Everything is checked on the caller's thread before any rank starts: nulls (a
 * {@link NullPointerException} naming the argument), array lengths against the shape, the plan's topology
 * against the world's, sizes against Java's array limit and the tensors' bytes against the world's memory
 * limit ({@link CpuOptions#memoryLimit()}); a broken rule is an {@link InvalidConfigurationException}.
 */
public final class ShardedAttention {
    /** The largest Java array the JVM reliably allocates. */
    static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

    private ShardedAttention() {
    }

    /**
     * Global {@code [B, S, H, D]} in, global O out.
     *
     * @param world the world to run on, of the plan's topology
     * @param plan  the plan, without a joint text segment
     * @param q     whole-sequence queries, {@code B*S*H*D} values
     * @param k     whole-sequence keys, {@code B*S*H*D} values
     * @param v     whole-sequence values, {@code B*S*H*D} values
     * @return the whole-sequence output, {@code [B, S, H, D]}
     * @throws InvalidConfigurationException if a rule above is broken
     */
    public static float[] forward(CpuWorld world, Plan plan, float[] q, float[] k, float[] v) {
        return forward(world, plan, q, k, v, 1);
    }

    /**
     * The same, running the layer {@code repeats} times on the same attention object (workspace reuse).
     *
     * @param world   the world to run on, of the plan's topology
     * @param plan    the plan, without a joint text segment
     * @param q       whole-sequence queries, {@code B*S*H*D} values
     * @param k       whole-sequence keys, {@code B*S*H*D} values
     * @param v       whole-sequence values, {@code B*S*H*D} values
     * @param repeats layer runs on the same inputs, at least 1
     * @return the whole-sequence output of the last run, {@code [B, S, H, D]}
     * @throws InvalidConfigurationException if a rule above is broken
     */
    public static float[] forward(CpuWorld world, Plan plan, float[] q, float[] k, float[] v, int repeats) {
        check(world, plan, q, k, v, repeats);
        if (plan.jointTextRows() > 0) {
            throw new InvalidConfigurationException(plan + " without its text segment",
                    "a plan with a joint segment runs with forwardJoint (forward(q, k, v, o, JointText) on a rank)");
        }
        AttentionShape s = plan.shape();
        int n = world.topology().worldSize();
        List<float[]> outs = world.run(dev -> {
            int g = dev.rank();
            int sl = plan.shardRows(g);
            try (DeviceArena io = dev.newArena(); DistributedAttention attn = DistributedAttention.create(plan, dev)) {
                TensorView[] in = tensors(io, s, sl, shard(q, plan, g), shard(k, plan, g), shard(v, plan, g));
                for (int i = 0; i < repeats; i++) {
                    attn.forward(in[0], in[1], in[2], in[3]);
                }
                attn.stream().synchronize("rank " + g + " forward done");
                return CpuBuffer.of(in[3].base()).read();
            }
        });
        float[] out = new float[q.length];
        for (int g = 0; g < n; g++) {
            unshard(outs.get(g), out, plan, g);
        }
        return out;
    }

    /**
     * Joint attention on the CPU backend (docs/algorithms.md, section 3.7): the whole image sequence q, k, v is
     * sharded as {@code plan} splits it, the text segment {@code qText, kText, vText} ({@code [B, S_text, H, D]})
     * goes whole to every rank, with {@code validText[b]} valid text keys per batch ({@code null}: all).
     *
     * @param world     the world to run on, of the plan's topology
     * @param plan      a plan with a joint text segment ({@link Plan#withJointText})
     * @param q         whole-sequence image queries, {@code B*S*H*D} values
     * @param k         whole-sequence image keys, {@code B*S*H*D} values
     * @param v         whole-sequence image values, {@code B*S*H*D} values
     * @param qText     text queries, {@code B*S_text*H*D} values
     * @param kText     text keys, {@code B*S_text*H*D} values
     * @param vText     text values, {@code B*S_text*H*D} values
     * @param validText per batch, how many leading text keys count; {@code null}: all
     * @return the image output, whole, and each rank's text output
     */
    public static Joint forwardJoint(CpuWorld world, Plan plan, float[] q, float[] k, float[] v, float[] qText,
            float[] kText, float[] vText, int[] validText) {
        check(world, plan, q, k, v, 1);
        if (plan.jointTextRows() == 0) {
            throw new InvalidConfigurationException("a joint text segment for " + plan,
                    "a joint segment needs a plan with one (Plan.withJointText)");
        }
        AttentionShape s = plan.shape();
        JointText.checkValidRows(validText, s.batch(), plan.jointTextRows()); // on the caller's thread, before any rank
        int n = world.topology().worldSize();
        long textElements = (long) s.batch() * plan.jointTextRows() * s.heads() * s.headDim();
        float[][] text = {qText, kText, vText};
        for (int i = 0; i < 3; i++) {
            Objects.requireNonNull(text[i], "text " + "qkv".charAt(i));
            if (text[i].length != textElements) {
                throw new InvalidConfigurationException("text " + "qkv".charAt(i) + " holds " + text[i].length
                        + " values, not B*S_text*H*D = " + textElements, "the text tensors hold B*S_text*H*D values");
            }
        }
        List<float[][]> outs = world.run(dev -> {
            int g = dev.rank();
            int sl = plan.shardRows(g);
            try (DeviceArena io = dev.newArena(); DistributedAttention attn = DistributedAttention.create(plan, dev)) {
                TensorView[] in = tensors(io, s, sl, shard(q, plan, g), shard(k, plan, g), shard(v, plan, g));
                TensorView[] t = tensors(io, s, plan.jointTextRows(), qText, kText, vText);
                attn.forward(in[0], in[1], in[2], in[3], new JointText(t[0], t[1], t[2], t[3], validText));
                attn.stream().synchronize("rank " + g + " joint forward done");
                return new float[][] {CpuBuffer.of(in[3].base()).read(), CpuBuffer.of(t[3].base()).read()};
            }
        });
        float[] out = new float[q.length];
        List<float[]> textOut = new ArrayList<>(n);
        for (int g = 0; g < n; g++) {
            unshard(outs.get(g)[0], out, plan, g);
            textOut.add(outs.get(g)[1]);
        }
        return new Joint(out, textOut);
    }

    /** {@code [B, rows, H, D]} tensors in {@code io}: q, k and v holding the given values, then an output. */
    private static TensorView[] tensors(DeviceArena io, AttentionShape s, int rows, float[] q, float[] k, float[] v) {
        float[][] values = {q, k, v, null};
        TensorView[] out = new TensorView[4];
        for (int i = 0; i < 4; i++) {
            Buffer b = io.allocate((long) s.batch() * rows * s.heads() * s.headDim(), s.dtype());
            if (values[i] != null) {
                CpuBuffer.of(b).write(values[i]);
            }
            out[i] = TensorView.contiguous(b, s.batch(), rows, s.heads(), s.headDim());
        }
        return out;
    }

    /**
     * The image output, whole, and the text output of each rank.
     *
     * @param image      the whole-sequence image output, {@code [B, S, H, D]}
     * @param textByRank each rank's text output, {@code [B, S_text, H, D]}, indexed by rank
     */
    public record Joint(float[] image, List<float[]> textByRank) {
    }

    private static void check(CpuWorld world, Plan plan, float[] q, float[] k, float[] v, int repeats) {
        Objects.requireNonNull(world, "world");
        Objects.requireNonNull(plan, "plan");
        Objects.requireNonNull(q, "q");
        Objects.requireNonNull(k, "k");
        Objects.requireNonNull(v, "v");
        if (repeats <= 0) {
            throw new InvalidConfigurationException("repeats=" + repeats + " is not positive", "repeats > 0");
        }
        if (!plan.mesh().topology().equals(world.topology())) {
            throw new InvalidConfigurationException("plan for topology " + plan.mesh().topology() + " on a world of "
                    + world.topology(), "mesh topology == world topology");
        }
        AttentionShape s = plan.shape();
        long elements = arrayLength(s.elements(), "B*S*H*D of " + s);
        float[][] tensors = {q, k, v};
        String[] names = {"q", "k", "v"};
        for (int i = 0; i < 3; i++) {
            if (tensors[i].length != elements) {
                throw new InvalidConfigurationException(names[i] + " holds " + tensors[i].length + " values but the shape "
                        + s + " needs B*S*H*D = " + elements, "q, k and v hold exactly B*S*H*D values");
            }
        }
        // q, k, v and o shards on every rank: the least the layer allocates, checked before any rank starts.
        world.checkAvailable(4 * elements * Float.BYTES, "the q, k, v and o shards of " + s);
    }

    /** {@code n} as an array length, or the rule it breaks. */
    private static int arrayLength(long n, String what) {
        if (n > MAX_ARRAY) {
            throw new InvalidConfigurationException(what + " = " + n + " elements exceed a Java array",
                    "elements of a float[] tensor <= 2^31-9");
        }
        return (int) n;
    }

    /**
     * Rank {@code g}'s tokens of every batch under the default split (the first {@code S mod N} ranks one row
     * longer).
     *
     * @param x a whole-sequence tensor, {@code B*S*H*D} values
     * @param s its shape
     * @param n ranks {@code N} sharing the sequence
     * @param g the rank, {@code 0 <= g < n}
     * @return the shard, {@code [B, shardRows, H, D]}, a copy
     * @throws InvalidConfigurationException if {@code x}'s length or {@code g} breaks its rule
     */
    public static float[] shard(float[] x, AttentionShape s, int n, int g) {
        checkGlobal(x, s, n, g, "x");
        return rows(x, s, defaultStart(s, n, g), defaultRows(s, n, g));
    }

    /**
     * Rank {@code g}'s tokens of every batch as {@code plan} splits the sequence:
     * {@code [B, shardRows(g), H, D]}.
     *
     * @param x    a whole-sequence tensor of the plan's shape, {@code B*S*H*D} values
     * @param plan the plan whose split to use
     * @param g    the rank, {@code 0 <= g < N}
     * @return the shard, a copy
     * @throws InvalidConfigurationException if {@code x}'s length or {@code g} breaks its rule
     */
    public static float[] shard(float[] x, Plan plan, int g) {
        checkGlobal(x, plan.shape(), plan.mesh().worldSize(), g, "x");
        return rows(x, plan.shape(), plan.shardStart(g), plan.shardRows(g));
    }

    /** Tokens {@code [start, start + sl)} of every batch. */
    private static float[] rows(float[] x, AttentionShape s, int start, int sl) {
        int row = arrayLength((long) s.heads() * s.headDim(), "H*D");
        float[] out = new float[arrayLength((long) s.batch() * sl * row, "a shard [B, " + sl + ", H, D] of " + s)];
        for (int b = 0; b < s.batch(); b++) {
            System.arraycopy(x, (b * s.seqLen() + start) * row, out, b * sl * row, sl * row);
        }
        return out;
    }

    /**
     * The inverse of {@link #shard(float[], AttentionShape, int, int)}: writes rank {@code g}'s tokens back.
     *
     * @param part the shard, {@code [B, shardRows, H, D]}
     * @param x    the whole-sequence tensor written into, {@code B*S*H*D} values
     * @param s    the whole tensor's shape
     * @param n    ranks {@code N} sharing the sequence
     * @param g    the rank, {@code 0 <= g < n}
     * @throws InvalidConfigurationException if a length or {@code g} breaks its rule
     */
    public static void unshard(float[] part, float[] x, AttentionShape s, int n, int g) {
        checkGlobal(x, s, n, g, "x");
        place(part, x, s, defaultStart(s, n, g), defaultRows(s, n, g));
    }

    /**
     * The inverse of {@link #shard(float[], Plan, int)}.
     *
     * @param part the shard, {@code [B, shardRows(g), H, D]}
     * @param x    the whole-sequence tensor written into, {@code B*S*H*D} values
     * @param plan the plan whose split to use
     * @param g    the rank, {@code 0 <= g < N}
     * @throws InvalidConfigurationException if a length or {@code g} breaks its rule
     */
    public static void unshard(float[] part, float[] x, Plan plan, int g) {
        checkGlobal(x, plan.shape(), plan.mesh().worldSize(), g, "x");
        place(part, x, plan.shape(), plan.shardStart(g), plan.shardRows(g));
    }

    private static void place(float[] part, float[] x, AttentionShape s, int start, int sl) {
        int row = arrayLength((long) s.heads() * s.headDim(), "H*D");
        Objects.requireNonNull(part, "part");
        if (part.length != (long) s.batch() * sl * row) {
            throw new InvalidConfigurationException("part holds " + part.length + " values, a shard of " + sl + " rows of "
                    + s + " " + (long) s.batch() * sl * row, "part holds B*shardRows*H*D values");
        }
        for (int b = 0; b < s.batch(); b++) {
            System.arraycopy(part, b * sl * row, x, (b * s.seqLen() + start) * row, sl * row);
        }
    }

    private static int defaultRows(AttentionShape s, int n, int g) {
        return s.shardRows(n, g);
    }

    private static int defaultStart(AttentionShape s, int n, int g) {
        return s.shardStart(n, g);
    }

    private static void checkGlobal(float[] x, AttentionShape s, int n, int g, String name) {
        Objects.requireNonNull(x, name);
        long elements = arrayLength(s.elements(), "B*S*H*D of " + s);
        if (x.length != elements) {
            throw new InvalidConfigurationException(name + " holds " + x.length + " values but the shape " + s
                    + " needs B*S*H*D = " + elements, "a whole-sequence tensor holds B*S*H*D values");
        }
        if (g < 0 || g >= n) {
            throw new InvalidConfigurationException("rank " + g + " of " + n, "0 <= rank < N");
        }
    }
}
