package org.streamfusion.cuda.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.util.function.Function;
import java.util.function.ToIntFunction;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * A native call that returns a status and writes its result through a pointer argument: the
 * out-parameter lives in a confined arena for the call only, the status goes to the library's own
 * check (so the exception carries that library's error text), and the result is read before the arena
 * closes. Public for the wrappers in the other packages of this module; the package is not exported.
 */
public final class OutParameter {
    /** A library's status check: throws that library's exception for a failed {@code call}. */
    @FunctionalInterface
    public interface StatusCheck {
        void check(String call, int status);
    }

    private OutParameter() {
    }

    /** A handle or device pointer the call writes, e.g. a {@code cudaStream_t} or an {@code ncclComm_t}. */
    public static MemorySegment pointer(String call, StatusCheck check, ToIntFunction<MemorySegment> function) {
        return invoke(call, check, arena -> arena.allocate(ADDRESS), function, out -> out.get(ADDRESS, 0));
    }

    /** An {@code int} the call writes, e.g. a count, a version or an attribute. */
    public static int intValue(String call, StatusCheck check, ToIntFunction<MemorySegment> function) {
        return invoke(call, check, arena -> arena.allocate(JAVA_INT), function, out -> out.get(JAVA_INT, 0));
    }

    /** A {@code float} the call writes. */
    public static float floatValue(String call, StatusCheck check, ToIntFunction<MemorySegment> function) {
        return invoke(call, check, arena -> arena.allocate(JAVA_FLOAT), function, out -> out.get(JAVA_FLOAT, 0));
    }

    /**
     * A struct the call fills, as bytes (a unique id to hand to other ranks). {@code allocate} makes the
     * struct and sets any field the library reads before it writes (a version tag).
     */
    public static byte[] bytes(String call, StatusCheck check, Function<SegmentAllocator, MemorySegment> allocate,
                               ToIntFunction<MemorySegment> function) {
        return invoke(call, check, allocate, function, out -> out.toArray(JAVA_BYTE));
    }

    private static <T> T invoke(String call, StatusCheck check, Function<SegmentAllocator, MemorySegment> allocate,
                                ToIntFunction<MemorySegment> function, Function<MemorySegment, T> read) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = allocate.apply(arena);
            check.check(call, function.applyAsInt(out));
            return read.apply(out);
        }
    }
}
