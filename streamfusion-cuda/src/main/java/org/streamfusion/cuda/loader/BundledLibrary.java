package org.streamfusion.cuda.loader;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;

/**
 * Extracts a library packaged under {@code META-INF/native/<platform>/} (the streamfusion-native platform jar)
 * to {@code <base>/<version>-<sha256 prefix>/} and trusts nothing already on disk: the folders are the
 * user's own and owner-only, and the file is loaded only after its SHA-256 matches the one the build
 * recorded beside it ({@code <file>.sha256}), on first extraction and on every reuse. A file that fails any
 * check is replaced by an atomic rename, never written in place.
 */
final class BundledLibrary {
    static final String RESOURCE_ROOT = "META-INF/native/";
    static final String VERSION_RESOURCE = RESOURCE_ROOT + "streamfusion-native.properties";
    static final String HASH_SUFFIX = ".sha256";
    private static final Logger LOG = System.getLogger(NativeLoader.class.getName());
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY_ATTRIBUTE =
            PosixFilePermissions.asFileAttribute(OWNER_ONLY);

    /**
     * A verified copy on disk.
     *
     * @param path   the file, whose content hashed to {@code sha256} just before this was returned
     * @param sha256 the hash the build recorded
     * @param how    what was done: "verified the copy already there", "extracted" or why a copy was replaced
     */
    record Extracted(Path path, String sha256, String how) {
    }

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

    /**
     * Empty when no jar on {@code loader} carries the library for this platform.
     *
     * @throws UncheckedIOException when the library cannot be had safely; the message says which check failed
     */
    static Optional<Extracted> extract(ClassLoader loader, String fileName, Path baseDir, UserPrincipal owner) {
        String resource = resourceName(fileName);
        byte[] bytes = read(loader, resource);
        if (bytes == null) {
            return Optional.empty();
        }
        byte[] record = read(loader, resource + HASH_SUFFIX);
        if (record == null) {
            throw refused(resource + " has no recorded SHA-256 (" + resource + HASH_SUFFIX
                    + "); the platform jar was not built by streamfusion-native");
        }
        String expected = new String(record, StandardCharsets.US_ASCII).strip();
        String packaged = sha256(bytes);
        if (!packaged.equals(expected)) {
            throw refused(resource + " in the jar hashes to " + packaged + " but the build recorded " + expected);
        }
        Path dir = privateDirectory(privateDirectory(baseDir, owner)
                .resolve(version(loader) + "-" + expected.substring(0, 12)), owner);
        Path target = dir.resolve(fileName);
        try {
            String how;
            Optional<String> distrust = distrust(target, owner, expected);
            if (distrust.isEmpty()) {
                how = "verified the copy already there";
            } else {
                if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                    how = "replaced " + target + ": " + distrust.get();
                    LOG.log(Level.WARNING, "Refusing {0}: {1}; replacing it with the copy from the jar",
                            target, distrust.get());
                } else {
                    how = "extracted";
                }
                replace(dir, target, bytes);
                Optional<String> after = distrust(target, owner, expected);
                if (after.isPresent()) {
                    throw refused("after extracting " + resource + " to " + target + ": " + after.get());
                }
            }
            return Optional.of(new Extracted(target, expected, how));
        } catch (IOException e) {
            throw new UncheckedIOException("extracting " + resource + " to " + target + ": " + e, e);
        }
    }

    /** Why the file at {@code target} must not be loaded; empty when it is the recorded library. */
    private static Optional<String> distrust(Path target, UserPrincipal owner, String expected) throws IOException {
        if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.of("absent");
        }
        PosixFileAttributes attributes = Files.readAttributes(target, PosixFileAttributes.class,
                LinkOption.NOFOLLOW_LINKS);
        if (!attributes.isRegularFile()) {
            return Optional.of("not a regular file (a link or a folder)");
        }
        if (!attributes.owner().equals(owner)) {
            return Optional.of("owned by " + attributes.owner().getName() + ", not " + owner.getName());
        }
        String found = sha256(Files.readAllBytes(target));
        return found.equals(expected) ? Optional.empty()
                : Optional.of("its SHA-256 is " + found + ", the build recorded " + expected);
    }

    /** Writes a fresh file beside the target and renames it over the target in one step. */
    private static void replace(Path dir, Path target, byte[] bytes) throws IOException {
        Path part = Files.createTempFile(dir, target.getFileName().toString(), ".part", OWNER_ONLY_ATTRIBUTE);
        try {
            try (FileChannel out = FileChannel.open(part, StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(bytes);
                while (buffer.hasRemaining()) {
                    out.write(buffer);
                }
                out.force(true);
            }
            Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(part);
        }
    }

    /**
     * {@code dir}, created owner-only when absent; an existing one must be a real folder of {@code owner}
     * (no link), and is then made owner-only, so that nobody else can swap a file between check and load.
     */
    static Path privateDirectory(Path dir, UserPrincipal owner) {
        try {
            Path parent = dir.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            try {
                Files.createDirectory(dir, OWNER_ONLY_ATTRIBUTE);
            } catch (FileAlreadyExistsException e) {
                // checked below, whoever made it
            }
            PosixFileAttributes attributes = Files.readAttributes(dir, PosixFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS);
            if (!attributes.isDirectory()) {
                throw refused(dir + " is not a folder (a link or a file): native libraries are not extracted there");
            }
            if (!attributes.owner().equals(owner)) {
                throw refused(dir + " is owned by " + attributes.owner().getName() + ", not by "
                        + owner.getName() + ": native libraries are extracted only to the user's own folder");
            }
            if (!attributes.permissions().equals(OWNER_ONLY)) {
                Files.setPosixFilePermissions(dir, OWNER_ONLY);
                LOG.log(Level.INFO, "Made {0} owner-only (it was {1})", dir,
                        PosixFilePermissions.toString(attributes.permissions()));
            }
            return dir;
        } catch (UnsupportedOperationException e) {
            throw refused(dir + " is on a file system without POSIX owners and permissions");
        } catch (IOException e) {
            throw new UncheckedIOException("preparing " + dir + ": " + e, e);
        }
    }

    /** The user this process runs as: the owner of /proc/self on Linux, else the one user.name names. */
    static UserPrincipal currentUser() {
        try {
            Path self = Path.of("/proc/self");
            if (Files.exists(self)) {
                return Files.getOwner(self);
            }
            return self.getFileSystem().getUserPrincipalLookupService()
                    .lookupPrincipalByName(System.getProperty("user.name"));
        } catch (IOException e) {
            throw new UncheckedIOException("finding the user this process runs as: " + e, e);
        }
    }

    private static byte[] read(ClassLoader loader, String resource) {
        try (InputStream in = loader.getResourceAsStream(resource)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + resource + ": " + e, e);
        }
    }

    private static UncheckedIOException refused(String why) {
        return new UncheckedIOException("refused: " + why, new IOException(why));
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
