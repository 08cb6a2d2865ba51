package org.streamfusion.cuda.sf;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.cuda.loader.NativeLibrary;
import org.streamfusion.cuda.loader.NativeLoader;

/**
 * The emulated link's kernels refuse bad clock and slot words before anything is launched: in Java (a
 * segment shorter than a word) and in libstreamfusion (NULL, misaligned), with the native message. Needs the
 * library, not a GPU.
 */
class LinkWaitTest {
    @Test
    void badWordsAreRefusedWithTheArgumentAndTheRule() {
        var failure = NativeLoader.global().tryLoad(NativeLibrary.STREAMFUSION);
        assumeTrue(failure.isEmpty(), () -> "libstreamfusion not loadable: " + failure.get().getMessage());
        CudaStream stream = CudaStream.legacyDefault();
        MemorySegment aligned = MemorySegment.ofAddress(4096).reinterpret(8);
        var shortWord = assertThrows(InvalidArgumentException.class,
                () -> LinkWait.reserve(MemorySegment.ofAddress(4096).reinterpret(4), aligned, 1, stream));
        assertTrue(shortWord.getMessage().contains("busyUntil is 4 bytes"), shortWord.getMessage());
        var nullWord = assertThrows(InvalidArgumentException.class,
                () -> LinkWait.reserve(MemorySegment.ofAddress(0).reinterpret(8), aligned, 1, stream));
        assertTrue(nullWord.getMessage().contains("SF_ERR_NULL_POINTER") && nullWord.getMessage().contains("busy_until_ns is NULL"),
                nullWord.getMessage());
        var misaligned = assertThrows(InvalidArgumentException.class,
                () -> LinkWait.await(MemorySegment.ofAddress(4100).reinterpret(8), stream));
        assertTrue(misaligned.getMessage().startsWith("sf_link_wait rejected its arguments: SF_ERR_MISALIGNED")
                && misaligned.getMessage().contains("not 8-byte aligned"), misaligned.getMessage());
        var negative = assertThrows(InvalidArgumentException.class, () -> LinkWait.reserve(aligned, aligned, -1, stream));
        assertTrue(negative.getMessage().contains("durationNanos = -1"), negative.getMessage());
    }
}
