package org.streamfusion.cuda.sf;

import org.junit.jupiter.api.Test;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.bindings.sf.Streamfusion;
import org.streamfusion.cuda.loader.NativeLibrary;
import org.streamfusion.cuda.loader.NativeLoader;

import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The libstreamfusion packaged in the jar loads, matches the bindings' ABI and reports argument
 * errors. Needs the library (built when nvcc was on the PATH), not a GPU: a NULL view is rejected
 * before anything touches the device.
 */
class StreamfusionLibraryTest {

    @Test
    void bundledLibraryLoadsWithMatchingAbiAndRejectsNullViews() {
        var failure = NativeLoader.global().tryLoad(NativeLibrary.STREAMFUSION);
        assumeTrue(failure.isEmpty(), () -> "libstreamfusion not loadable: " + failure.get().getMessage());
        System.out.println("libstreamfusion from " + StreamfusionLibrary.load());
        assertEquals(Streamfusion.SF_ABI_VERSION(), Streamfusion.sf_abi_version());
        int status = Streamfusion.sf_copy_strided(MemorySegment.NULL, MemorySegment.NULL, 64,
                Streamfusion.SF_DTYPE_BF16(), MemorySegment.NULL);
        assertEquals(Streamfusion.SF_ERR_NULL_POINTER(), status);
        var e = assertThrows(InvalidArgumentException.class, () -> StreamfusionLibrary.check("sf_copy_strided", status));
        assertTrue(e.getMessage().startsWith("sf_copy_strided rejected its arguments: "), e.getMessage());
        System.out.println("expected failure: " + e.getMessage());
    }
}
