package org.streamfusion.cuda;

import org.streamfusion.InvalidStateException;
import org.streamfusion.bindings.cudart.Cudart;
import org.streamfusion.cuda.internal.OutParameter;

import java.lang.foreign.MemorySegment;

/** A {@code cudaStream_t}. Owned streams are destroyed by {@link #close()}. */
public final class CudaStream implements AutoCloseable {
    private static final CudaStream LEGACY_DEFAULT = new CudaStream(MemorySegment.NULL, false);

    private final MemorySegment handle;
    private final boolean owned;
    private boolean closed;

    private CudaStream(MemorySegment handle, boolean owned) {
        this.handle = handle;
        this.owned = owned;
    }

    /**
     * A non-blocking stream: it does not synchronise with the legacy default stream.
     *
     * @return a new owned stream; {@link #close()} destroys it
     */
    public static CudaStream create() {
        return create(true);
    }

    /**
     * A new owned stream; {@link #close()} destroys it.
     *
     * @param nonBlocking true for {@code cudaStreamNonBlocking} (no implicit synchronisation with the legacy
     *                    default stream), false for {@code cudaStreamDefault}
     * @return the stream
     */
    public static CudaStream create(boolean nonBlocking) {
        CudaRuntime.library();
        int flags = nonBlocking ? Cudart.cudaStreamNonBlocking() : Cudart.cudaStreamDefault();
        return new CudaStream(OutParameter.pointer("cudaStreamCreateWithFlags", CudaRuntime::check,
                out -> Cudart.cudaStreamCreateWithFlags(out, flags)), true);
    }

    /**
     * A stream the caller owns ({@code cudaStream_t} as an address): used, never destroyed. The caller keeps
     * it alive while anything enqueued through this object can run.
     *
     * @param handle the caller's {@code cudaStream_t}; only its address is kept
     * @return a stream that {@link #close()} does not destroy, only marks closed
     */
    public static CudaStream borrow(MemorySegment handle) {
        CudaRuntime.library();
        return new CudaStream(MemorySegment.ofAddress(handle.address()), false);
    }

    /**
     * {@return the legacy default stream (NULL handle), loading libcudart if needed; one object shared by all
     * callers, so closing it does nothing}
     */
    public static CudaStream legacyDefault() {
        // Like create and borrow: nothing may be enqueued on the NULL stream before libcudart is loaded.
        CudaRuntime.library();
        return LEGACY_DEFAULT;
    }

    /**
     * {@return the raw {@code cudaStream_t} for native calls}
     *
     * @throws InvalidStateException if this stream is closed
     */
    public MemorySegment handle() {
        if (closed) {
            throw new InvalidStateException("stream is closed");
        }
        return handle;
    }

    /** Blocks the calling thread until all work queued on this stream has completed. */
    public void synchronize() {
        CudaRuntime.check("cudaStreamSynchronize", Cudart.cudaStreamSynchronize(handle()));
    }

    /**
     * Work queued on this stream after this call waits until {@code event} has completed.
     *
     * @param event the event; its latest {@link CudaEvent#record} is what is waited for
     */
    public void waitFor(CudaEvent event) {
        CudaRuntime.check("cudaStreamWaitEvent", Cudart.cudaStreamWaitEvent(handle(), event.handle(), 0));
    }

    /**
     * Destroys an owned stream; a borrowed one is only marked closed (the caller's stream lives on). Either way
     * {@link #handle()} is refused afterwards. The shared {@link #legacyDefault()} is never closed: one caller's
     * {@code close} must not break the others.
     */
    @Override
    public void close() {
        if (closed || this == LEGACY_DEFAULT) {
            return;
        }
        closed = true;
        if (owned) {
            CudaRuntime.check("cudaStreamDestroy", Cudart.cudaStreamDestroy(handle));
        }
    }
}
