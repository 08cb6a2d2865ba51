package org.streamfusion;

import org.streamfusion.backend.RankDevice;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.schedule.Schedules;

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
    /** {@return the plan this layer runs} */
    Plan plan();

    /**
     * Inputs must be ready on this stream; the output is ready on it when {@code forward} returns.
     *
     * @return the stream this layer's work is ordered on
     */
    Stream stream();

    /**
     * Enqueues one layer. Stream-ordered: call {@code stream().synchronize(..)} to wait for it on the host.
     *
     * @param q this rank's query shard, {@code [B, shardRows(rank), H, D]}
     * @param k this rank's key shard, same shape
     * @param v this rank's value shard, same shape
     * @param o where this rank's output shard goes, same shape, sharing no memory with q, k or v
     * @throws InvalidConfigurationException if a tensor's shape or element type does not fit the plan, o
     *         overlaps an input, or the plan has a joint text segment
     * @throws WrongBackendException if a tensor's buffer is not of this rank's backend
     * @throws InvalidStateException if the layer is closed
     */
    void forward(TensorView q, TensorView k, TensorView v, TensorView o);

    /**
     * Enqueues one layer in {@code caller}'s order: it starts after the work enqueued on {@code caller} so far
     * (which wrote q, k and v), and work enqueued on {@code caller} afterwards sees o. No copy, no host wait:
     * two events join the streams. {@code caller} is a stream of this rank's backend, for instance
     * {@code CudaRankDevice.wrapStream} of the caller's own CUDA stream.
     *
     * @param q      this rank's query shard, {@code [B, shardRows(rank), H, D]}
     * @param k      this rank's key shard, same shape
     * @param v      this rank's value shard, same shape
     * @param o      where this rank's output shard goes, same shape, sharing no memory with q, k or v
     * @param caller the stream whose order the layer joins, of this rank's backend; not null
     * @throws InvalidConfigurationException if {@code caller} is null, or as
     *         {@link #forward(TensorView, TensorView, TensorView, TensorView)}
     * @throws WrongBackendException if {@code caller} or a tensor's buffer is not of this rank's backend
     */
    void forward(TensorView q, TensorView k, TensorView v, TensorView o, Stream caller);

    /**
     * Enqueues one layer of joint attention (docs/algorithms.md, section 3.7): the sharded image tokens and the
     * text segment {@code text}, which every rank holds whole, attend to each other; {@code text.o()} comes back
     * the same on every rank. The plan must have the segment ({@link Plan#withJointText}).
     *
     * @param q    this rank's image query shard, {@code [B, shardRows(rank), H, D]}
     * @param k    this rank's image key shard, same shape
     * @param v    this rank's image value shard, same shape
     * @param o    where this rank's image output shard goes, same shape
     * @param text the text segment, {@code [B, S_text, H, D]} with {@code S_text} the plan's
     *             {@link Plan#jointTextRows()}
     * @throws InvalidConfigurationException if a tensor's shape or element type does not fit the plan, an
     *         output overlaps an input or the other output, or the plan has no joint text segment
     * @throws WrongBackendException if a tensor's buffer is not of this rank's backend
     */
    void forward(TensorView q, TensorView k, TensorView v, TensorView o, JointText text);

    /**
     * {@link #forward(TensorView, TensorView, TensorView, TensorView, JointText)} in {@code caller}'s order.
     *
     * @param q      this rank's image query shard, {@code [B, shardRows(rank), H, D]}
     * @param k      this rank's image key shard, same shape
     * @param v      this rank's image value shard, same shape
     * @param o      where this rank's image output shard goes, same shape
     * @param text   the text segment, {@code [B, S_text, H, D]}
     * @param caller the stream whose order the layer joins, of this rank's backend; not null
     */
    void forward(TensorView q, TensorView k, TensorView v, TensorView o, JointText text, Stream caller);

    /**
     * Runs one layer on these tensors eagerly, then records the same enqueue once (a CUDA graph on the GPU
     * backend) bound to them, to replay with one call per step (docs/graphs.md). Collective, like
     * {@code forward}: every rank captures its layer in the same order, and no other layer of the rank may
     * run on another thread meanwhile. The captured layer is closed with this one.
     *
     * @param q this rank's query shard {@code [B, S_local, H, D]}
     * @param k this rank's key shard
     * @param v this rank's value shard
     * @param o this rank's output shard, written by each replay
     * @return the captured layer; {@link CapturedLayer#replayMode()} says whether it is a graph
     * @throws InvalidConfigurationException on any argument that {@code forward} refuses
     */
    CapturedLayer capture(TensorView q, TensorView k, TensorView v, TensorView o);

    /**
     * {@link #capture(TensorView, TensorView, TensorView, TensorView)} with the plan's joint text segment.
     *
     * @param q    this rank's query shard
     * @param k    this rank's key shard
     * @param v    this rank's value shard
     * @param o    this rank's output shard
     * @param text the whole text segment, as {@code forward} takes it
     * @return the captured layer
     * @throws InvalidConfigurationException on any argument that {@code forward} refuses
     */
    CapturedLayer capture(TensorView q, TensorView k, TensorView v, TensorView o, JointText text);

    @Override
    void close();

    /**
     * Builds this rank's part of the layer. Collective: every rank calls it with the same plan.
     *
     * @param plan   the plan to run; its mesh's topology is the device's
     * @param device this rank's device
     * @return the layer, ready for {@link #forward}
     * @throws InvalidConfigurationException if the plan's topology is not the device's, or the backend's
     *         kernels cannot run the plan's shape
     */
    static DistributedAttention create(Plan plan, RankDevice device) {
        return Schedules.create(plan, device);
    }
}
