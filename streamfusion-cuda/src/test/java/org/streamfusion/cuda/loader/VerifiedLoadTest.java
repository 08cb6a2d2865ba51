package org.streamfusion.cuda.loader;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The loader end to end with a real shared object standing in for libstreamfusion (the JDK's own
 * libsyslookup.so, which has no JNI entry points): a planted file of the right size in the extraction
 * folder is refused, replaced, and the verified copy is what the dynamic linker maps.
 */
class VerifiedLoadTest {

    private static Path realLibrary() {
        return Path.of(System.getProperty("java.home"), "lib", "libsyslookup.so");
    }

    @Test
    void aPlantedLibraryOfTheRightSizeIsRefusedAndTheVerifiedOneLoaded(@TempDir Path tmp) throws IOException {
        byte[] good = Files.readAllBytes(realLibrary());
        String hash = BundledLibrary.sha256(good);
        Path jarRoot = tmp.resolve("jar");
        Path lib = jarRoot.resolve(BundledLibrary.resourceName("libstreamfusion.so"));
        Files.createDirectories(lib.getParent());
        Files.write(lib, good);
        Files.writeString(lib.resolveSibling("libstreamfusion.so.sha256"), hash + "\n");
        Files.writeString(jarRoot.resolve(BundledLibrary.VERSION_RESOURCE), "version=test\n");

        // Plant: the folder the loader will use, owner-only as it makes it, holding other bytes of the same size.
        Path cache = tmp.resolve("cache");
        Path folder = Files.createDirectories(cache.resolve("test-" + hash.substring(0, 12)),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        byte[] planted = new byte[good.length];
        new SplittableRandom(42).nextBytes(planted);
        Path target = Files.write(folder.resolve("libstreamfusion.so"), planted);

        // libcudart, the prerequisite, is another copy of the same harmless library.
        Path prerequisite = Files.copy(realLibrary(), tmp.resolve("libcudart-stand-in.so"));
        NativeLoader loader = new NativeLoader(
                Map.of("streamfusion.native.dir", cache.toString(), "streamfusion.cudart.path", prerequisite.toString())::get,
                Map.<String, String>of()::get,
                new URLClassLoader(new URL[] {jarRoot.toUri().toURL()}, null), null);
        LoadedLibrary loaded = loader.load(NativeLibrary.STREAMFUSION);

        assertEquals(target.toRealPath(), loaded.path().toRealPath());
        assertTrue(loaded.source().contains("replaced") && loaded.source().contains("SHA-256"), loaded.source());
        assertArrayEquals(good, Files.readAllBytes(target), "the planted bytes are gone");
    }

    /**
     * Under {@code --illegal-native-access=deny} without {@code --enable-native-access}, {@code tryLoad} returns
     * the reason, naming the flag, instead of throwing (a child JVM on the class path, where the test JVM's
     * own grant does not reach).
     */
    @Test
    void tryLoadWithoutNativeAccessReturnsTheFlagToSetInsteadOfThrowing() throws Exception {
        String classPath = String.join(File.pathSeparator, List.of(
                System.getProperty("jdk.module.path", ""), System.getProperty("java.class.path", ""),
                Path.of(DeniedAccessProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString()));
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--illegal-native-access=deny", "-cp", classPath, DeniedAccessProbe.class.getName())
                .redirectErrorStream(true).start();
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the probe JVM did not finish in 60 s");
        String output = new String(child.getInputStream().readAllBytes());
        assertEquals(0, child.exitValue(), output);
        assertTrue(output.contains("returned: ") && output.contains("--enable-native-access=ALL-UNNAMED"), output);
    }
}
