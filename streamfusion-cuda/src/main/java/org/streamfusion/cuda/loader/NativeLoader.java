package org.streamfusion.cuda.loader;

import org.streamfusion.cuda.loader.NativeLibraryException.Attempt;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Loads the native libraries in a fixed order (a library's prerequisites first; see
 * {@link NativeLibrary}) and remembers the outcome, success or failure, per library.
 *
 * <p>Candidates for a library, first match wins:
 * <ol>
 *   <li>system property {@code streamfusion.<key>.path}, else environment variable
 *       {@code STREAMFUSION_<KEY>_PATH}: when set, only that file is tried;</li>
 *   <li>for libstreamfusion, the copy packaged in this jar, extracted to a versioned directory;</li>
 *   <li>the sonames, through the dynamic linker's own search (LD_LIBRARY_PATH, ld.so.cache);</li>
 *   <li>a few well-known directories ($CUDA_HOME/lib64, /usr/local/cuda/lib64, ...).</li>
 * </ol>
 *
 * <p>Each hit is loaded with {@link System#load}, which ties it to this class's loader: the
 * jextract bindings look symbols up with {@code SymbolLookup.loaderLookup()}, so they must be on the
 * same class loader as this module (plain class path: they are).
 */
public final class NativeLoader {
    private static final class Global {
        static final NativeLoader INSTANCE = new NativeLoader(System::getProperty, System::getenv);
    }

    private final UnaryOperator<String> properties;
    private final UnaryOperator<String> environment;
    private final Map<NativeLibrary, Object> outcomes = new EnumMap<>(NativeLibrary.class);

    /**
     * A loader that reads its settings through the given lookups and keeps its own outcomes.
     *
     * @param properties  looks up system-property-style settings (null when unset)
     * @param environment looks up environment variables (null when unset)
     */
    public NativeLoader(UnaryOperator<String> properties, UnaryOperator<String> environment) {
        this.properties = properties;
        this.environment = environment;
    }

    /** {@return the process-wide loader, configured from System properties and the environment} */
    public static NativeLoader global() {
        return Global.INSTANCE;
    }

    /**
     * Loads {@code library} (and its prerequisites first) unless already done.
     *
     * @param library the library to load
     * @return the loaded library, with the file it came from
     * @throws NativeLibraryException naming the library, every path tried and the property to set;
     *                                the same exception again on later calls
     */
    public synchronized LoadedLibrary load(NativeLibrary library) {
        Object outcome = outcomes.get(library);
        if (outcome == null) {
            try {
                for (NativeLibrary prerequisite : library.prerequisites()) {
                    load(prerequisite);
                }
                outcome = loadOne(library);
            } catch (NativeLibraryException e) {
                outcome = e;
            }
            outcomes.put(library, outcome);
        }
        if (outcome instanceof NativeLibraryException e) {
            throw e;
        }
        return (LoadedLibrary) outcome;
    }

    /**
     * Loads without throwing: the library, or the reason it cannot be had.
     *
     * @param library the library to load
     * @return empty when it is loaded, else the exception {@link #load} throws
     */
    public Optional<NativeLibraryException> tryLoad(NativeLibrary library) {
        try {
            load(library);
            return Optional.empty();
        } catch (NativeLibraryException e) {
            return Optional.of(e);
        }
    }

    private LoadedLibrary loadOne(NativeLibrary library) {
        List<Attempt> attempts = new ArrayList<>();
        String override = setting(library.propertyName());
        String source = "system property " + library.propertyName();
        if (override == null) {
            override = env(library.environmentVariable());
            source = "environment variable " + library.environmentVariable();
        }
        List<Candidate> candidates = override != null
                ? List.of(new Candidate(override, source))
                : defaultCandidates(library, attempts);
        Optional<Dl> dl = Dl.find();
        for (Candidate c : candidates) {
            Outcome o = tryCandidate(dl, c.name());
            if (o.path() != null) {
                return new LoadedLibrary(library, o.path(), c.source());
            }
            attempts.add(new Attempt(c.name() + " (" + c.source() + ")", o.error()));
        }
        throw new NativeLibraryException(library.displayName(), attempts, library.propertyName(),
                library.environmentVariable());
    }

    private record Candidate(String name, String source) {
    }

    /** Either the loaded file or the error text. */
    private record Outcome(Path path, String error) {
    }

    private static Outcome tryCandidate(Optional<Dl> dl, String name) {
        String path = name;
        if (dl.isPresent()) {
            // dlopen first: it resolves sonames and gives dlerror's exact text on failure.
            Dl.Opened opened = dl.get().open(name);
            if (!opened.ok()) {
                return new Outcome(null, opened.error());
            }
            path = opened.path();
        } else if (!name.contains("/")) {
            return new Outcome(null, "not an absolute path, and dlopen is not reachable from Java here");
        }
        try {
            Path absolute = Path.of(path).toAbsolutePath();
            System.load(absolute.toString()); // registers it with this class loader (loaderLookup)
            return new Outcome(absolute, null);
        } catch (UnsatisfiedLinkError e) {
            return new Outcome(null, e.getMessage()); // carries dlerror's text on Linux
        }
    }

    private List<Candidate> defaultCandidates(NativeLibrary library, List<Attempt> attempts) {
        Set<Candidate> out = new LinkedHashSet<>();
        if (library == NativeLibrary.STREAMFUSION) {
            String file = library.sonames().getFirst();
            try {
                Optional<Path> extracted = BundledLibrary.extract(NativeLoader.class.getClassLoader(), file,
                        nativeDir());
                if (extracted.isPresent()) {
                    out.add(new Candidate(extracted.get().toString(), "bundled in jar"));
                } else {
                    attempts.add(new Attempt(BundledLibrary.resourceName(file) + " (bundled in jar)",
                            "not packaged in this jar (built without nvcc?)"));
                }
            } catch (UncheckedIOException e) {
                attempts.add(new Attempt(BundledLibrary.resourceName(file) + " (bundled in jar)",
                        e.getMessage() + ": " + e.getCause().getMessage()));
            }
        }
        for (String soname : library.sonames()) {
            out.add(new Candidate(soname, "linker search"));
        }
        for (Path dir : wellKnownDirectories(library)) {
            for (String soname : library.sonames()) {
                Path p = dir.resolve(soname);
                if (Files.exists(p)) {
                    out.add(new Candidate(p.toString(), "well-known directory"));
                }
            }
        }
        return List.copyOf(out);
    }

    private List<Path> wellKnownDirectories(NativeLibrary library) {
        List<Path> dirs = new ArrayList<>();
        switch (library) {
            case CUDART, NCCL -> {
                for (String var : List.of("CUDA_HOME", "CUDA_PATH")) {
                    String home = env(var);
                    if (home != null) {
                        dirs.add(Path.of(home, "lib64"));
                    }
                }
                dirs.add(Path.of("/usr/local/cuda/lib64"));
            }
            case NVSHMEM -> {
                String home = env("NVSHMEM_HOME");
                if (home != null) {
                    dirs.add(Path.of(home, "lib"));
                }
                dirs.add(Path.of("/usr/lib/x86_64-linux-gnu/nvshmem/13"));
            }
            case STREAMFUSION -> {
            }
        }
        return dirs;
    }

    /** Where bundled libraries are extracted: streamfusion.native.dir, else a per-user temp folder. */
    Path nativeDir() {
        String dir = setting("streamfusion.native.dir");
        if (dir == null) {
            dir = env("STREAMFUSION_NATIVE_DIR");
        }
        if (dir != null) {
            return Path.of(dir);
        }
        String user = String.valueOf(System.getProperty("user.name", "user")).replaceAll("[^A-Za-z0-9._-]", "_");
        return Path.of(System.getProperty("java.io.tmpdir"), "streamfusion-" + user);
    }

    private String setting(String name) {
        return blankToNull(properties.apply(name));
    }

    private String env(String name) {
        return blankToNull(environment.apply(name));
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }
}
