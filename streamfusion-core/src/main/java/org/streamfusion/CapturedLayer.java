package org.streamfusion;

import org.streamfusion.backend.Stream;

/**
 * One layer bound to its tensors and recorded once, to be replayed with one call per step: on the GPU
 * backend a CUDA graph of the whole enqueue (kernels, NCCL calls, NVSHMEM on-stream operations), so the
 * per-layer host work and launch gaps are gone. A backend or a call that cannot be captured falls back to
 * enqueueing the layer again on each replay, with the same output; {@link #replayMode()} says which and
 * why. Made by {@link DistributedAttention#capture}; see docs/graphs.md.
 *
 * <p>Replays read the bound inputs as they are when the replay runs and write the bound outputs, so a
 * caller refills the inputs in place between steps. Not thread-safe: one thread replays a layer. Replays
 * are not counted by the rank device's byte counters ({@code CudaRankDevice.bytes}), which count what is
 * enqueued eagerly.
 */
public interface CapturedLayer extends AutoCloseable {
    /** How a captured layer replays. */
    enum Mode {
        /** One CUDA graph launch per replay. */
        GRAPH,
        /** The layer is enqueued again on each replay (no capture on this backend, or the capture failed). */
        EAGER
    }

    /** {@return the plan of the layer this was captured from} */
    Plan plan();

    /** {@return how this layer replays} */
    Mode replayMode();

    /**
     * {@return why the layer replays as it does: the number of graph operations, or the reason it could
     * not be captured (the backend's own error text)}
     */
    String replayReason();

    /**
     * Runs the layer once more on the layer's stream ({@link DistributedAttention#stream()}): stream-ordered,
     * like {@link DistributedAttention#forward}.
     *
     * @throws InvalidStateException if this or its layer is closed
     */
    void replay();

    /**
     * Runs the layer once more in {@code caller}'s order: after what is on {@code caller}, and
     * {@code caller}'s later work after it.
     *
     * @param caller a stream of the layer's backend and device, e.g. from {@code CudaRankDevice.wrapStream}
     * @throws InvalidStateException if this or its layer is closed
     * @throws WrongBackendException if {@code caller} is a stream of another backend
     * @throws InvalidConfigurationException if {@code caller} is {@code null}
     */
    void replay(Stream caller);

    /** Releases the recorded work (not the layer, nor the tensors); replays already enqueued still complete. */
    @Override
    void close();
}
