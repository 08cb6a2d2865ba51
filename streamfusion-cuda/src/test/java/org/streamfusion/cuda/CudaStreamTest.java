package org.streamfusion.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.streamfusion.InvalidStateException;
import org.streamfusion.cuda.loader.NativeLibrary;
import org.streamfusion.cuda.loader.NativeLoader;

/** What {@link CudaStream#close()} does to streams it does not own. Needs libcudart, not a GPU. */
class CudaStreamTest {

    private static void assumeLibcudart() {
        assumeTrue(NativeLoader.global().tryLoad(NativeLibrary.CUDART).isEmpty(), "libcudart not loadable here");
    }

    @Test
    void aBorrowedStreamRefusesItsHandleAfterClose() {
        assumeLibcudart();
        CudaStream borrowed = CudaStream.borrow(MemorySegment.ofAddress(0x1000));
        assertEquals(0x1000, borrowed.handle().address());
        borrowed.close(); // not destroyed: the caller owns it
        var e = assertThrows(InvalidStateException.class, borrowed::handle);
        assertEquals("stream is closed", e.getMessage());
    }

    @Test
    void closingTheSharedLegacyDefaultStreamLeavesItUsable() {
        assumeLibcudart();
        CudaStream.legacyDefault().close();
        assertEquals(MemorySegment.NULL, CudaStream.legacyDefault().handle());
    }
}
