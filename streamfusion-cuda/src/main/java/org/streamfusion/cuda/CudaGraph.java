package org.streamfusion.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;
import org.streamfusion.InvalidStateException;
import org.streamfusion.bindings.cudart.Cudart;
import org.streamfusion.cuda.internal.OutParameter;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A CUDA graph captured from a stream and instantiated: the {@code cudaGraph_t} and its
 * {@code cudaGraphExec_t}, both destroyed by {@link #close()}. {@link #capture} records what a piece of
 * code enqueues on a stream (and on every stream it forks from it through events) without running it;
 * {@link #launch} replays all of it with one call.
 */
public final class CudaGraph implements AutoCloseable {
    /** Which CUDA calls other than the captured stream's may run while a capture is open. */
    public enum CaptureMode {
        /** No thread of the process may make a capture-unsafe call (the strictest; PyTorch's default). */
        GLOBAL,
        /** Only the capturing thread is held to capture-safe calls. */
        THREAD_LOCAL,
        /** No thread is checked. */
        RELAXED;

        int value() {
            return switch (this) {
                case GLOBAL -> Cudart.cudaStreamCaptureModeGlobal();
                case THREAD_LOCAL -> Cudart.cudaStreamCaptureModeThreadLocal();
                case RELAXED -> Cudart.cudaStreamCaptureModeRelaxed();
            };
        }
    }

    private final MemorySegment graph;
    private final MemorySegment exec;
    private final long nodes;
    private boolean closed;

    private CudaGraph(MemorySegment graph, MemorySegment exec, long nodes) {
        this.graph = graph;
        this.exec = exec;
        this.nodes = nodes;
    }

    /**
     * Captures what {@code body} enqueues on {@code stream}, instantiates it and returns the graph. If
     * {@code body} throws or the capture is refused (a call that cannot be captured, a forked stream not
     * joined back), the capture is ended, anything it made is destroyed, and the exception propagates
     * with CUDA's error text; the stream is usable again.
     *
     * @param stream the origin stream; it must not be capturing already
     * @param mode   which threads' capture-unsafe calls invalidate the capture
     * @param body   enqueues the work (on {@code stream}, and on other streams only after waiting for an
     *               event recorded on it, joining back before returning)
     * @return the instantiated graph, to {@link #launch} on any stream of the same device
     * @throws CudaException naming the failed call and CUDA's error string
     */
    public static CudaGraph capture(CudaStream stream, CaptureMode mode, Consumer<CudaStream> body) {
        CudaRuntime.library();
        if (isCapturing(stream)) {
            throw new InvalidStateException("stream is already capturing: a graph cannot be captured inside another");
        }
        CudaRuntime.check("cudaStreamBeginCapture", Cudart.cudaStreamBeginCapture(stream.handle(), mode.value()));
        MemorySegment graph;
        try {
            body.accept(stream);
        } catch (RuntimeException | Error e) {
            abandon(stream, e);
            throw e;
        }
        graph = OutParameter.pointer("cudaStreamEndCapture", CudaRuntime::check,
                out -> Cudart.cudaStreamEndCapture(stream.handle(), out));
        try {
            long nodes = nodeCount(graph);
            MemorySegment exec = OutParameter.pointer("cudaGraphInstantiate", CudaRuntime::check,
                    out -> Cudart.cudaGraphInstantiate(out, graph, 0L));
            return new CudaGraph(graph, exec, nodes);
        } catch (RuntimeException e) {
            Cudart.cudaGraphDestroy(graph);
            throw e;
        }
    }

    /** Ends a capture that {@code cause} interrupted, destroying the partial graph; failures are suppressed. */
    private static void abandon(CudaStream stream, Throwable cause) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            int rc = Cudart.cudaStreamEndCapture(stream.handle(), out);
            MemorySegment partial = out.get(ADDRESS, 0);
            if (!partial.equals(MemorySegment.NULL)) {
                Cudart.cudaGraphDestroy(partial);
            }
            if (rc != Cudart.cudaSuccess()) {
                CudaRuntime.error("cudaStreamEndCapture", rc); // clears the runtime's last error
            }
        } catch (RuntimeException e) {
            cause.addSuppressed(e);
        }
    }

    /**
     * Whether {@code stream} is capturing now (a caller capturing a larger graph around ours, say).
     *
     * @param stream the stream to ask about
     * @return true while a capture is open on it, valid or invalidated
     */
    public static boolean isCapturing(CudaStream stream) {
        int status = OutParameter.intValue("cudaStreamIsCapturing", CudaRuntime::check,
                out -> Cudart.cudaStreamIsCapturing(stream.handle(), out));
        return status != Cudart.cudaStreamCaptureStatusNone();
    }

    private static long nodeCount(MemorySegment graph) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_LONG);
            CudaRuntime.check("cudaGraphGetNodes", Cudart.cudaGraphGetNodes(graph, MemorySegment.NULL, count));
            return count.get(JAVA_LONG, 0);
        }
    }

    /**
     * Enqueues one replay of the whole graph, ordered after what is already on {@code stream}.
     *
     * @param stream any stream of the device the graph was captured on
     */
    public void launch(CudaStream stream) {
        if (closed) {
            throw new InvalidStateException("graph is closed");
        }
        CudaRuntime.check("cudaGraphLaunch", Cudart.cudaGraphLaunch(exec, stream.handle()));
    }

    /** {@return the number of nodes the capture recorded (kernels, copies, memsets, event waits, ...)} */
    public long nodes() {
        return nodes;
    }

    /** Destroys the executable graph and the graph; replays already enqueued still complete. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        int execRc = Cudart.cudaGraphExecDestroy(exec);
        int graphRc = Cudart.cudaGraphDestroy(graph);
        if (execRc != Cudart.cudaSuccess()) {
            CudaException e = CudaRuntime.error("cudaGraphExecDestroy", execRc);
            if (graphRc != Cudart.cudaSuccess()) {
                e.addSuppressed(CudaRuntime.error("cudaGraphDestroy", graphRc));
            }
            throw e;
        }
        CudaRuntime.check("cudaGraphDestroy", graphRc);
    }
}
