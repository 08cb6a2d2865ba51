package org.streamfusion.cuda;

import org.streamfusion.InvalidStateException;
import org.streamfusion.bindings.cudart.Cudart;
import org.streamfusion.cuda.internal.OutParameter;

import java.lang.foreign.MemorySegment;

/** A {@code cudaEvent_t}, destroyed by {@link #close()}. */
public final class CudaEvent implements AutoCloseable {
    private final MemorySegment handle;
    private final boolean timing;
    private boolean closed;

    private CudaEvent(MemorySegment handle, boolean timing) {
        this.handle = handle;
        this.timing = timing;
    }

    /**
     * An event that records timestamps (for {@link #elapsedMillis}).
     *
     * @return a new event; {@link #close()} destroys it
     */
    public static CudaEvent create() {
        return create(true);
    }

    /**
     * {@code timing = false} gives a cheaper event usable only for ordering.
     *
     * @param timing whether the event records timestamps for {@link #elapsedMillis}
     * @return a new event; {@link #close()} destroys it
     */
    public static CudaEvent create(boolean timing) {
        CudaRuntime.library();
        int flags = timing ? Cudart.cudaEventDefault() : Cudart.cudaEventDisableTiming();
        return new CudaEvent(OutParameter.pointer("cudaEventCreateWithFlags", CudaRuntime::check,
                out -> Cudart.cudaEventCreateWithFlags(out, flags)), timing);
    }

    /**
     * {@return the raw {@code cudaEvent_t} for native calls}
     *
     * @throws InvalidStateException if the event is closed
     */
    public MemorySegment handle() {
        if (closed) {
            throw new InvalidStateException("event is closed");
        }
        return handle;
    }

    /** {@return whether the event records timestamps, i.e. it was created with {@code timing = true}} */
    public boolean isTiming() {
        return timing;
    }

    /**
     * Captures the work queued on {@code stream} so far.
     *
     * @param stream the stream whose queued work the event marks
     */
    public void record(CudaStream stream) {
        CudaRuntime.check("cudaEventRecord", Cudart.cudaEventRecord(handle(), stream.handle()));
    }

    /** Blocks the calling thread until the work captured by the latest {@link #record} has completed. */
    public void synchronize() {
        CudaRuntime.check("cudaEventSynchronize", Cudart.cudaEventSynchronize(handle()));
    }

    /** {@return true when all captured work has completed (cudaEventQuery); false while it is pending} */
    public boolean isComplete() {
        int rc = Cudart.cudaEventQuery(handle());
        if (rc == Cudart.cudaErrorNotReady()) {
            return false; // not an error: "still running"
        }
        CudaRuntime.check("cudaEventQuery", rc);
        return true;
    }

    /**
     * Milliseconds between two recorded, completed timing events (cudaEventElapsedTime).
     *
     * @param start the earlier event
     * @param end   the later event
     * @return the time from {@code start} to {@code end}, in milliseconds
     * @throws CudaException if either event is not a recorded, completed timing event
     */
    public static float elapsedMillis(CudaEvent start, CudaEvent end) {
        return OutParameter.floatValue("cudaEventElapsedTime", CudaRuntime::check,
                milliseconds -> Cudart.cudaEventElapsedTime(milliseconds, start.handle(), end.handle()));
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        CudaRuntime.check("cudaEventDestroy", Cudart.cudaEventDestroy(handle));
    }
}
