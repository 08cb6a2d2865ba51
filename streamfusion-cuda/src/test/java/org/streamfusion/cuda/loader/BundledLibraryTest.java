package org.streamfusion.cuda.loader;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Extraction of a packaged library into an owner-only folder, trusting nothing already on disk (no real
 * library involved: the bytes are random, the checks are the loader's).
 */
class BundledLibraryTest {
    private static final UserPrincipal ME = BundledLibrary.currentUser();

    /** A class loader that sees a platform jar's layout under {@code root}. */
    static ClassLoader platformJar(Path root, String version, byte[] content, String recordedHash) throws IOException {
        Path lib = root.resolve(BundledLibrary.resourceName("libfake.so"));
        Files.createDirectories(lib.getParent());
        Files.write(lib, content);
        if (recordedHash != null) {
            Files.writeString(lib.resolveSibling("libfake.so" + BundledLibrary.HASH_SUFFIX), recordedHash + "\n");
        }
        Files.writeString(root.resolve(BundledLibrary.VERSION_RESOURCE), "version=" + version + "\n");
        return new URLClassLoader(new URL[] {root.toUri().toURL()}, null);
    }

    private static byte[] random(long seed, int size) {
        byte[] bytes = new byte[size];
        new SplittableRandom(seed).nextBytes(bytes);
        return bytes;
    }

    private static ClassLoader jar(Path root, byte[] content) throws IOException {
        return platformJar(root, "1.2.3", content, BundledLibrary.sha256(content));
    }

    @Test
    void extractsIntoOwnerOnlyFoldersNamedByVersionAndContentHash(@TempDir Path tmp) throws IOException {
        byte[] v1 = random(1, 4096);
        ClassLoader jar = jar(tmp.resolve("a"), v1);
        var first = BundledLibrary.extract(jar, "libfake.so", tmp.resolve("cache"), ME).orElseThrow();
        Path out = first.path();
        assertArrayEquals(v1, Files.readAllBytes(out));
        assertEquals("extracted", first.how());
        assertTrue(out.getParent().getFileName().toString().startsWith("1.2.3-" + first.sha256().substring(0, 12)),
                out.toString());
        for (Path dir : List.of(tmp.resolve("cache"), out.getParent())) {
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)), dir.toString());
        }
        var again = BundledLibrary.extract(jar, "libfake.so", tmp.resolve("cache"), ME).orElseThrow();
        assertEquals(out, again.path());
        assertEquals("verified the copy already there", again.how());

        byte[] v2 = random(2, 4096);
        Path other = BundledLibrary.extract(jar(tmp.resolve("b"), v2), "libfake.so", tmp.resolve("cache"), ME)
                .orElseThrow().path();
        assertNotEquals(out.getParent(), other.getParent(), "a rebuilt SNAPSHOT must not overwrite a mapped file");
        assertArrayEquals(v1, Files.readAllBytes(out));
    }

    @Test
    void aPlantedFileOfTheRightSizeIsRefusedAndReplaced(@TempDir Path tmp) throws IOException {
        for (int size : new int[] {1, 4096, 1 << 20}) {
            byte[] good = random(size, size);
            ClassLoader jar = jar(tmp.resolve("jar-" + size), good);
            Path cache = tmp.resolve("cache-" + size);
            Path target = BundledLibrary.extract(jar, "libfake.so", cache, ME).orElseThrow().path();
            byte[] planted = random(size + 7L, size);
            planted[0] = (byte) ~good[0]; // never equal to the good content, whatever the random bytes
            Files.write(target, planted);

            var result = BundledLibrary.extract(jar, "libfake.so", cache, ME).orElseThrow();
            assertEquals(target, result.path(), "size " + size);
            assertTrue(result.how().startsWith("replaced") && result.how().contains("SHA-256"),
                    "size " + size + ": " + result.how());
            assertArrayEquals(good, Files.readAllBytes(target), "size " + size);
            try (var left = Files.list(target.getParent())) {
                assertEquals(List.of(target), left.toList(), "no temporary file is left behind, size " + size);
            }
        }
    }

    @Test
    void aPlantedLinkIsReplacedNotFollowed(@TempDir Path tmp) throws IOException {
        byte[] good = random(3, 512);
        ClassLoader jar = jar(tmp.resolve("jar"), good);
        Path target = BundledLibrary.extract(jar, "libfake.so", tmp.resolve("cache"), ME).orElseThrow().path();
        Path elsewhere = Files.write(tmp.resolve("elsewhere.so"), good);
        Files.delete(target);
        Files.createSymbolicLink(target, elsewhere); // same bytes: only the link itself is wrong

        var result = BundledLibrary.extract(jar, "libfake.so", tmp.resolve("cache"), ME).orElseThrow();
        assertTrue(result.how().contains("not a regular file"), result.how());
        assertFalse(Files.isSymbolicLink(target));
        assertTrue(Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS));
        assertArrayEquals(good, Files.readAllBytes(elsewhere), "the link's target is left alone");
    }

    @Test
    void aFolderOfAnotherUserIsRefused(@TempDir Path tmp) throws IOException {
        UserPrincipal other = otherUser();
        var e = assertThrows(UncheckedIOException.class, () ->
                BundledLibrary.extract(jar(tmp.resolve("jar"), random(4, 64)), "libfake.so", tmp.resolve("cache"), other));
        assertTrue(e.getMessage().startsWith("refused: ") && e.getMessage().contains("is owned by " + ME.getName())
                && e.getMessage().contains("not by " + other.getName()), e.getMessage());
    }

    @Test
    void aFolderOthersCouldWriteIsMadeOwnerOnly(@TempDir Path tmp) throws IOException {
        Path cache = Files.createDirectory(tmp.resolve("cache"));
        Files.setPosixFilePermissions(cache, PosixFilePermissions.fromString("rwxrwxrwx"));
        BundledLibrary.extract(jar(tmp.resolve("jar"), random(5, 64)), "libfake.so", cache, ME).orElseThrow();
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(cache)));
    }

    @Test
    void aLinkInPlaceOfTheFolderIsRefused(@TempDir Path tmp) throws IOException {
        Path real = Files.createDirectory(tmp.resolve("real"));
        Path cache = Files.createSymbolicLink(tmp.resolve("cache"), real);
        var e = assertThrows(UncheckedIOException.class, () ->
                BundledLibrary.extract(jar(tmp.resolve("jar"), random(6, 64)), "libfake.so", cache, ME));
        assertTrue(e.getMessage().contains("is not a folder"), e.getMessage());
    }

    @Test
    void aJarWithoutARecordedHashOrWithADifferentOneIsRefused(@TempDir Path tmp) throws IOException {
        byte[] content = random(7, 64);
        var none = assertThrows(UncheckedIOException.class, () -> BundledLibrary.extract(
                platformJar(tmp.resolve("a"), "1", content, null), "libfake.so", tmp.resolve("cache"), ME));
        assertTrue(none.getMessage().contains("has no recorded SHA-256"), none.getMessage());

        String wrong = BundledLibrary.sha256(random(8, 64));
        var mismatch = assertThrows(UncheckedIOException.class, () -> BundledLibrary.extract(
                platformJar(tmp.resolve("b"), "1", content, wrong), "libfake.so", tmp.resolve("cache"), ME));
        assertTrue(mismatch.getMessage().contains("the build recorded " + wrong), mismatch.getMessage());
        assertFalse(Files.exists(tmp.resolve("cache")), "nothing is extracted from a jar that fails its record");
    }

    @Test
    void absentResourceGivesEmpty(@TempDir Path tmp) {
        ClassLoader empty = new URLClassLoader(new URL[0], null);
        assertTrue(BundledLibrary.extract(empty, "libfake.so", tmp, ME).isEmpty());
    }

    /** A user other than this process's, from the accounts every Linux has. */
    private static UserPrincipal otherUser() throws IOException {
        var lookup = Path.of("/").getFileSystem().getUserPrincipalLookupService();
        for (String name : List.of("nobody", "daemon", "root")) {
            UserPrincipal candidate = lookup.lookupPrincipalByName(name);
            if (!candidate.equals(ME)) {
                return candidate;
            }
        }
        throw new AssertionError("no user other than " + ME);
    }
}
