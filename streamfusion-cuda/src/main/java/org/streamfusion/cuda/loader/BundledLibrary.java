package org.streamfusion.cuda.loader;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Properties;

/**
 * Extracts a library packaged in the jar under {@code META-INF/native/<platform>/} to
 * {@code <base>/<version>-<sha256 prefix>/}, so that two versions (or two SNAPSHOT builds) never
 * overwrite each other's file while a process has it mapped.
 */
final class BundledLibrary {
    static final String RESOURCE_ROOT = "META-INF/native/";
    static final String VERSION_RESOURCE = RESOURCE_ROOT + "streamfusion-native.properties";

    private BundledLibrary() {
    }

    static String resourceName(String fileName) {
        return RESOURCE_ROOT + Platform.current() + "/" + fileName;
    }

    /** The library version recorded at build time, or "dev" when run from classes without one. */
    static String version(ClassLoader loader) {
        try (InputStream in = loader.getResourceAsStream(VERSION_RESOURCE)) {
            if (in == null) {
                return "dev";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "dev").replaceAll("[^A-Za-z0-9._-]", "_");
        } catch (IOException e) {
            return "dev";
        }
    }

    /** Empty when the jar carries no such resource. */
    static Optional<Path> extract(ClassLoader loader, String fileName, Path baseDir) {
        String resource = resourceName(fileName);
        byte[] bytes;
        try (InputStream in = loader.getResourceAsStream(resource)) {
            if (in == null) {
                return Optional.empty();
            }
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + resource, e);
        }
        String hash = HexFormat.of().formatHex(sha256(bytes), 0, 6);
        Path dir = baseDir.resolve(version(loader) + "-" + hash);
        Path target = dir.resolve(fileName);
        try {
            if (Files.isRegularFile(target) && Files.size(target) == bytes.length) {
                return Optional.of(target); // the hash in the directory name vouches for the content
            }
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, fileName, ".part");
            Files.write(tmp, bytes);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            return Optional.of(target);
        } catch (IOException e) {
            throw new UncheckedIOException("extracting " + resource + " to " + target, e);
        }
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
