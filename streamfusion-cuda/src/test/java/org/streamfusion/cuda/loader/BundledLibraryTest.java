package org.streamfusion.cuda.loader;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Extraction of a packaged library to a versioned directory (no real library involved). */
class BundledLibraryTest {

    private static ClassLoader jarLike(Path root, String version, byte[] content) throws IOException {
        Path lib = root.resolve(BundledLibrary.resourceName("libfake.so"));
        Files.createDirectories(lib.getParent());
        Files.write(lib, content);
        Files.writeString(root.resolve(BundledLibrary.VERSION_RESOURCE), "version=" + version + "\n");
        return new URLClassLoader(new URL[] {root.toUri().toURL()}, null);
    }

    @Test
    void extractsIntoADirectoryNamedByVersionAndContentHash(@TempDir Path tmp) throws IOException {
        byte[] v1 = {1, 2, 3, 4};
        Path out = BundledLibrary.extract(jarLike(tmp.resolve("a"), "1.2.3", v1), "libfake.so", tmp.resolve("x"))
                .orElseThrow();
        assertArrayEquals(v1, Files.readAllBytes(out));
        assertTrue(out.getParent().getFileName().toString().startsWith("1.2.3-"), out.toString());
        assertEquals(tmp.resolve("x"), out.getParent().getParent());

        Path again = BundledLibrary.extract(jarLike(tmp.resolve("a"), "1.2.3", v1), "libfake.so", tmp.resolve("x"))
                .orElseThrow();
        assertEquals(out, again);

        byte[] v2 = {9, 9, 9, 9};
        Path other = BundledLibrary.extract(jarLike(tmp.resolve("b"), "1.2.3", v2), "libfake.so", tmp.resolve("x"))
                .orElseThrow();
        assertNotEquals(out.getParent(), other.getParent(), "a rebuilt SNAPSHOT must not overwrite a mapped file");
        assertArrayEquals(v1, Files.readAllBytes(out));
    }

    @Test
    void absentResourceGivesEmpty(@TempDir Path tmp) {
        ClassLoader empty = new URLClassLoader(new URL[0], null);
        assertTrue(BundledLibrary.extract(empty, "libfake.so", tmp).isEmpty());
    }
}
