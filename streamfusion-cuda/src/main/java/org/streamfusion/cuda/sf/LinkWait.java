package org.streamfusion.cuda.sf;

import java.lang.foreign.MemorySegment;
import java.util.Objects;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.bindings.sf.Streamfusion;
import org.streamfusion.cuda.CudaStream;

/**
 * The emulated inter-machine link's two kernels ({@code sf_link_reserve} and {@code sf_link_wait} of
 * csrc/src/sf_link.cu), stream-ordered around a transfer: the reservation takes a NIC's busy-until clock
 * (one 8-byte word of device memory, possibly another GPU's, mapped) and writes when the emulated
 * transfer ends into a slot; the wait holds the stream until then.
 */
public final class LinkWait {
    /** Bytes of one clock or slot word. */
    public static final long WORD_BYTES = 8;

    static {
        StreamfusionLibrary.load();
    }

    private LinkWait() {
    }

    /**
     * Enqueues on {@code stream}: start = max(now, busyUntil); done = start + durationNanos;
     * busyUntil = done; doneAt = done. Put it just before the transfer, so the emulated one starts with it.
     */
    public static void reserve(MemorySegment busyUntil, MemorySegment doneAt, long durationNanos, CudaStream stream) {
        requireWord(busyUntil, "busyUntil");
        requireWord(doneAt, "doneAt");
        Objects.requireNonNull(stream, "stream");
        if (durationNanos < 0) {
            throw new InvalidArgumentException("durationNanos = " + durationNanos + ": must be >= 0");
        }
        StreamfusionLibrary.check("sf_link_reserve",
                Streamfusion.sf_link_reserve(busyUntil, doneAt, durationNanos, stream.handle()));
    }

    /** Enqueues on {@code stream} a one-thread wait until the GPU's global timer reaches {@code doneAt}. */
    public static void await(MemorySegment doneAt, CudaStream stream) {
        requireWord(doneAt, "doneAt");
        Objects.requireNonNull(stream, "stream");
        StreamfusionLibrary.check("sf_link_wait", Streamfusion.sf_link_wait(doneAt, stream.handle()));
    }

    private static void requireWord(MemorySegment word, String name) {
        Objects.requireNonNull(word, name);
        if (word.byteSize() < WORD_BYTES) {
            throw new InvalidArgumentException(name + " is " + word.byteSize() + " bytes: a clock word needs "
                    + WORD_BYTES);
        }
    }
}
