package org.streamfusion;

import org.streamfusion.backend.RankDevice;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.schedule.Schedules;
import org.streamfusion.spi.RankBackend;

/**
 * One attention layer spread over all ranks. Every rank builds it from the same plan (construction and
 * {@link #close()} are collective: they allocate and free symmetric memory) and calls
 * {@link #forward} with its local shards {@code [B, shardRows(rank), H, D]} of Q, K, V; O comes back in the same
 * sharding, equal to single-device attention over the whole sequence.
 *
 * <p>Not thread-safe: a layer belongs to its rank's host thread (on the CPU backend, the thread
 * {@code CpuWorld.run} gives the rank); its {@code forward} calls are ordered on {@link #stream()}.
 */
public interface DistributedAttention extends AutoCloseable {
    Plan plan();

    /** Inputs must be ready on this stream; the output is ready on it when {@code forward} returns. */
    Stream stream();

    /** Enqueues one layer. Stream-ordered: call {@code stream().synchronize(..)} to wait for it on the host. */
    void forward(TensorView q, TensorView k, TensorView v, TensorView o);

    /**
     * Enqueues one layer in {@code caller}'s order: it starts after the work enqueued on {@code caller} so far
     * (which wrote q, k and v), and work enqueued on {@code caller} afterwards sees o. No copy, no host wait:
     * two events join the streams. {@code caller} is a stream of this rank's backend, for instance
     * {@code CudaRankDevice.wrapStream} of the caller's own CUDA stream.
     */
    void forward(TensorView q, TensorView k, TensorView v, TensorView o, Stream caller);

    /**
     * Enqueues one layer of joint attention (docs/algorithms.md, section 3.7): the sharded image tokens and the
     * text segment {@code text}, which every rank holds whole, attend to each other; {@code text.o()} comes back
     * the same on every rank. The plan must have the segment ({@link Plan#withJointText}).
     */
    void forward(TensorView q, TensorView k, TensorView v, TensorView o, JointText text);

    /** {@link #forward(TensorView, TensorView, TensorView, TensorView, JointText)} in {@code caller}'s order. */
    void forward(TensorView q, TensorView k, TensorView v, TensorView o, JointText text, Stream caller);

    @Override
    void close();

    static DistributedAttention create(Plan plan, RankDevice device) {
        java.util.Objects.requireNonNull(plan, "plan");
        java.util.Objects.requireNonNull(device, "device");
        if (plan.mesh().worldSize() != device.topology().worldSize()) {
            throw new InvalidConfigurationException("mesh of " + plan.mesh().worldSize() + " GPUs (" + plan.mesh()
                    + ") on a world of size " + device.topology().worldSize(), "mesh size == world size");
        }
        if (!plan.mesh().topology().equals(device.topology())) {
            throw new InvalidConfigurationException("mesh topology " + plan.mesh().topology()
                    + " differs from the device topology " + device.topology(), "mesh topology == world topology");
        }
        RankBackend backend = switch (device) {
            case RankBackend b -> b;
        };
        backend.kernels().checkSupported(plan.shape());
        return Schedules.create(plan, backend);
    }

    /**
     * Checks that q, k, v and o all have rank {@code rank}'s shard shape {@code [B, shardRows(rank), H, D]} and
     * that o shares no memory with q, k or v (the layer reads its inputs after it starts writing o).
     */
    static void checkShards(Plan plan, int rank, TensorView q, TensorView k, TensorView v, TensorView o) {
        checkShard("q", q, plan, rank);
        checkShard("k", k, plan, rank);
        checkShard("v", v, plan, rank);
        checkShard("o", o, plan, rank);
        TensorView[] inputs = {q, k, v};
        String[] names = {"q", "k", "v"};
        for (int i = 0; i < 3; i++) {
            if (o.base().overlaps(inputs[i].base())) {
                throw new InvalidConfigurationException("o (" + o.base() + ") overlaps " + names[i] + " ("
                        + inputs[i].base() + ")", "the output shares no memory with q, k or v");
            }
        }
    }

    private static void checkShard(String name, TensorView x, Plan plan, int rank) {
        AttentionShape s = plan.shape();
        int sl = plan.shardRows(rank);
        if (x == null) {
            throw new InvalidConfigurationException(name + "=null", name + " is a [B, shardRows(rank), H, D] tensor");
        }
        if (x.batch() != s.batch() || x.rows() != sl || x.heads() != s.heads() || x.dim() != s.headDim()) {
            throw new InvalidConfigurationException(name + " has shape " + x.shapeString() + " but the plan needs ["
                    + s.batch() + ", " + sl + ", " + s.heads() + ", " + s.headDim() + "] on rank " + rank,
                    "q, k, v and o are [B, shardRows(rank), H, D] shards of the plan's shape");
        }
    }
}
