package org.streamfusion.cuda.loader;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loader behaviour that needs no GPU: overrides, messages, memoised failures. */
class NativeLoaderTest {

    private static NativeLoader loader(Map<String, String> properties, Map<String, String> env) {
        return new NativeLoader(properties::get, env::get);
    }

    @Test
    void bogusPropertyPathFailsNamingLibraryPathDlerrorAndProperty() {
        String bogus = "/nonexistent-streamfusion/libcudart.so.13";
        var e = assertThrows(NativeLibraryException.class,
                () -> loader(Map.of("streamfusion.cudart.path", bogus), Map.of()).load(NativeLibrary.CUDART));
        String m = e.getMessage();
        assertAll(
                () -> assertTrue(m.contains("CUDA runtime (libcudart)"), m),
                () -> assertTrue(m.contains(bogus), m),
                () -> assertTrue(m.contains("cannot open shared object file: No such file or directory"), m),
                () -> assertTrue(m.contains("-Dstreamfusion.cudart.path="), m),
                () -> assertTrue(m.contains("STREAMFUSION_CUDART_PATH"), m),
                () -> assertEquals(1, e.attempts().size(), "an explicit override is the only candidate"),
                () -> assertEquals("streamfusion.cudart.path", e.property()));
    }

    @Test
    void environmentVariableIsUsedWhenThePropertyIsUnset() {
        String bogus = "/nonexistent-env/libnvshmem_host.so.3";
        NativeLoader l = loader(Map.of("streamfusion.cudart.path", "/nonexistent-a/libcudart.so.13"),
                Map.of("STREAMFUSION_NVSHMEM_PATH", bogus));
        // CUDART is NVSHMEM's prerequisite and fails first: the error must name it, not NVSHMEM.
        var e = assertThrows(NativeLibraryException.class, () -> l.load(NativeLibrary.NVSHMEM));
        assertTrue(e.getMessage().contains("libcudart"), e.getMessage());

        var direct = assertThrows(NativeLibraryException.class,
                () -> loader(Map.of(), Map.of("STREAMFUSION_CUDART_PATH", "/nonexistent-env/libcudart.so.13"))
                        .load(NativeLibrary.CUDART));
        assertTrue(direct.attempts().getFirst().candidate().contains("environment variable STREAMFUSION_CUDART_PATH"),
                direct.getMessage());
    }

    @Test
    void propertyWinsOverEnvironmentVariable() {
        var e = assertThrows(NativeLibraryException.class,
                () -> loader(Map.of("streamfusion.nccl.path", "/from-property/libnccl.so.2"),
                        Map.of("STREAMFUSION_NCCL_PATH", "/from-env/libnccl.so.2",
                                "STREAMFUSION_CUDART_PATH", "/from-env/libcudart.so.13"))
                        .load(NativeLibrary.CUDART));
        assertTrue(e.getMessage().contains("/from-env/libcudart.so.13"), e.getMessage());

        NativeLoader l = loader(Map.of("streamfusion.cudart.path", "/from-property/libcudart.so.13"),
                Map.of("STREAMFUSION_CUDART_PATH", "/from-env/libcudart.so.13"));
        var e2 = assertThrows(NativeLibraryException.class, () -> l.load(NativeLibrary.CUDART));
        assertTrue(e2.getMessage().contains("/from-property/libcudart.so.13"), e2.getMessage());
        assertTrue(!e2.getMessage().contains("/from-env/"), e2.getMessage());
    }

    @Test
    void fileThatIsNotALibraryReportsTheDynamicLinkersError(@TempDir Path dir) throws IOException {
        Path fake = Files.writeString(dir.resolve("libnccl.so.2"), "not an ELF file\n");
        NativeLoader l = loader(Map.of("streamfusion.cudart.path", fake.toString()), Map.of());
        var e = assertThrows(NativeLibraryException.class, () -> l.load(NativeLibrary.CUDART));
        // glibc says "invalid ELF header" or "file too short" for such a file.
        assertTrue(e.getMessage().contains("invalid ELF header") || e.getMessage().contains("file too short"),
                e.getMessage());
        assertTrue(e.getMessage().contains(fake.toString()), e.getMessage());
    }

    @Test
    void failureIsRememberedAndTheSameExceptionRethrown() {
        NativeLoader l = loader(Map.of("streamfusion.cudart.path", "/nonexistent/libcudart.so.13"), Map.of());
        var first = assertThrows(NativeLibraryException.class, () -> l.load(NativeLibrary.CUDART));
        var second = assertThrows(NativeLibraryException.class, () -> l.load(NativeLibrary.CUDART));
        assertSame(first, second);
        assertTrue(l.tryLoad(NativeLibrary.CUDART).isPresent());
    }

    @Test
    void propertyAndVariableNamesFollowOnePattern() {
        assertEquals("streamfusion.nvshmem.path", NativeLibrary.NVSHMEM.propertyName());
        assertEquals("STREAMFUSION_NVSHMEM_PATH", NativeLibrary.NVSHMEM.environmentVariable());
        assertEquals("streamfusion.streamfusion.path", NativeLibrary.STREAMFUSION.propertyName());
        assertEquals("STREAMFUSION_NCCL_PATH", NativeLibrary.NCCL.environmentVariable());
    }

    @Test
    void platformDirectoryNamesOsAndArchitecture() {
        assertEquals("linux-x86_64", Platform.directory("Linux", "amd64"));
        assertEquals("linux-aarch64", Platform.directory("Linux", "aarch64"));
    }
}
