package org.streamfusion.cuda;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.streamfusion.bindings.cudart.Cudart;
import org.streamfusion.cuda.loader.NativeLibrary;
import org.streamfusion.cuda.loader.NativeLibraryException;
import org.streamfusion.cuda.loader.NativeLoader;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Availability and error text on a machine without a GPU (these also pass on one). */
class CudaRuntimeTest {

    private static boolean hasNvidiaDevice() {
        return Files.exists(Path.of("/dev/nvidiactl"));
    }

    @Test
    void probeWithBogusPathReportsUnavailableNamingTheLibraryInsteadOfThrowing() {
        NativeLoader bogus = new NativeLoader(Map.of("streamfusion.cudart.path", "/nonexistent/libcudart.so.13")::get,
                Map.<String, String>of()::get);
        Throwable cause = assertDoesNotThrow(() -> CudaRuntime.probe(bogus));
        var e = assertInstanceOf(NativeLibraryException.class, cause);
        assertTrue(e.getMessage().contains("libcudart"), e.getMessage());
        assertTrue(e.getMessage().contains("/nonexistent/libcudart.so.13"), e.getMessage());
    }

    @Test
    void availabilityAndCauseAgreeAndNeverThrow() {
        boolean available = assertDoesNotThrow(CudaRuntime::isAvailable);
        assertEquals(!available, CudaRuntime.unavailabilityCause().isPresent());
        CudaRuntime.unavailabilityCause().ifPresent(c -> assertTrue(c.getMessage().contains("libcudart"), c.getMessage()));
    }

    @Test
    void withoutAGpuCudaIsUnavailableAndTheCauseNamesLibcudart() {
        assumeFalse(hasNvidiaDevice(), "this machine has an NVIDIA device");
        assertEquals(false, CudaRuntime.isAvailable());
        String m = CudaRuntime.unavailabilityCause().orElseThrow().getMessage();
        assertTrue(m.contains("CUDA runtime (libcudart)"), m);
    }

    @Test
    void errorTextComesFromCudaGetErrorStringWhenLibcudartLoads() {
        // libcudart gives error strings without a driver, so this runs on a CPU-only machine with CUDA installed.
        assumeTrue(NativeLoader.global().tryLoad(NativeLibrary.CUDART).isEmpty(), "libcudart not loadable here");
        CudaException e = CudaRuntime.error("cudaSetDevice", Cudart.cudaErrorInvalidDevice());
        assertEquals("cudaErrorInvalidDevice", e.errorName());
        assertEquals("invalid device ordinal", e.nativeMessage());
        assertEquals("cudaSetDevice failed: cudaErrorInvalidDevice (101): invalid device ordinal", e.getMessage());
    }
}
