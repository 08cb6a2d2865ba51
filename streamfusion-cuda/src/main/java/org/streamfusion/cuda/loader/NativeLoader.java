package org.streamfusion.cuda.loader;

import org.streamfusion.cuda.loader.NativeLibraryException.Attempt;

import java.io.UncheckedIOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
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
 *   <li>for libstreamfusion, the copy in the streamfusion-native jar for this platform
 *       ({@code META-INF/native/<platform>/}), extracted to an owner-only folder of the user's
 *       ({@code streamfusion.native.dir}, else {@code STREAMFUSION_NATIVE_DIR}, else
 *       {@code $XDG_CACHE_HOME/streamfusion/native}, else {@code ~/.cache/streamfusion/native}) and loaded only
 *       when its SHA-256 matches the one recorded at build time, checked again before every reuse;</li>
 *   <li>the sonames, through the dynamic linker's own search (LD_LIBRARY_PATH, ld.so.cache);</li>
 *   <li>a few well-known directories ($CUDA_HOME/lib64, /usr/local/cuda/lib64, ...).</li>
 * </ol>
 *
 * <p>What was loaded from where, and every candidate that failed before another was tried, is logged
 * through {@link System.Logger} (logger {@code org.streamfusion.cuda.loader.NativeLoader}).
 *
 * <p>Each hit is loaded with {@link System#load}, which ties it to this class's loader: the
 * jextract bindings look symbols up with {@code SymbolLookup.loaderLookup()}, so they must be on the
 * same class loader as this module (plain class path: they are).
 */
public final class NativeLoader {
    private static final Logger LOG = System.getLogger(NativeLoader.class.getName());

    private static final class Global {
        static final NativeLoader INSTANCE = new NativeLoader(System::getProperty, System::getenv);
    }

    private final UnaryOperator<String> properties;
    private final UnaryOperator<String> environment;
    /** Where the platform jar is looked up, and the user the extraction folder must belong to. */
    private final ClassLoader resources;
    private final UserPrincipal owner;
    private final Map<NativeLibrary, Object> outcomes = new EnumMap<>(NativeLibrary.class);

    /**
     * A loader that reads its settings through the given lookups and keeps its own outcomes.
     *
     * @param properties  looks up system-property-style settings (null when unset)
     * @param environment looks up environment variables (null when unset)
     */
    public NativeLoader(UnaryOperator<String> properties, UnaryOperator<String> environment) {
        this(properties, environment, NativeLoader.class.getClassLoader(), null);
    }

    /** As above, with the jars to take libstreamfusion from and the extraction folder's owner (null: this user). */
    NativeLoader(UnaryOperator<String> properties, UnaryOperator<String> environment, ClassLoader resources,
                 UserPrincipal owner) {
        this.properties = properties;
        this.environment = environment;
        this.resources = resources;
        this.owner = owner;
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
            } catch (IllegalCallerException e) {
                outcome = nativeAccessDenied(library, e);
            }
            if (outcome instanceof NativeLibraryException e) {
                LOG.log(Level.INFO, "{0} not loaded: {1}", library.displayName(), e.getMessage());
            }
            outcomes.put(library, outcome);
        }
        if (outcome instanceof NativeLibraryException e) {
            throw e;
        }
        return (LoadedLibrary) outcome;
    }

    /**
     * Loads without throwing, also where native access is denied ({@code --illegal-native-access=deny}
     * without {@code --enable-native-access} for this module): the library, or the reason it cannot be had.
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
        for (int index = 0; index < candidates.size(); index++) {
            Candidate c = candidates.get(index);
            Outcome o = tryCandidate(dl, c.name());
            if (o.path() != null) {
                LOG.log(Level.INFO, "Loaded {0} from {1} ({2})", library.displayName(), o.path(), c.source());
                return new LoadedLibrary(library, o.path(), c.source());
            }
            Attempt attempt = new Attempt(c.name() + " (" + c.source() + ")", o.error());
            if (index + 1 < candidates.size()) {
                fallBack(library, attempt, attempts);
            } else {
                attempts.add(attempt);
            }
        }
        throw new NativeLibraryException(library.displayName(), attempts, library.propertyName(),
                library.environmentVariable());
    }

    private record Candidate(String name, String source) {
    }

    /** Records a failed candidate that another follows. */
    private static void fallBack(NativeLibrary library, Attempt attempt, List<Attempt> attempts) {
        attempts.add(attempt);
        LOG.log(Level.INFO, "{0}: {1}; trying the next candidate", library.displayName(), attempt);
    }

    /** The restricted calls were refused: name the flag that grants them. */
    private static NativeLibraryException nativeAccessDenied(NativeLibrary library, IllegalCallerException e) {
        Module module = NativeLoader.class.getModule();
        String modules = module.isNamed() ? "org.streamfusion.bindings," + module.getName() : "ALL-UNNAMED";
        return new NativeLibraryException(library.displayName(), List.of(new Attempt(
                "native access for " + (module.isNamed() ? "module " + module.getName() : "the class path"),
                e.getMessage() + "; start java with --enable-native-access=" + modules)),
                library.propertyName(), library.environmentVariable());
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
            String bundled = BundledLibrary.resourceName(file) + " (platform jar streamfusion-native:"
                    + Platform.current() + ")";
            try {
                Optional<BundledLibrary.Extracted> extracted = BundledLibrary.extract(resources, file, nativeDir(),
                        owner != null ? owner : BundledLibrary.currentUser());
                if (extracted.isPresent()) {
                    out.add(new Candidate(extracted.get().path().toString(), "platform jar, SHA-256 "
                            + extracted.get().sha256().substring(0, 12) + " verified; " + extracted.get().how()));
                } else {
                    fallBack(library, new Attempt(bundled, "not on the class or module path (add the platform jar,"
                            + " or the build had no nvcc)"), attempts);
                }
            } catch (UncheckedIOException e) {
                // A copy that fails its hash or a folder that is not private is a warning, whatever loads next.
                Attempt attempt = new Attempt(bundled, e.getMessage());
                attempts.add(attempt);
                LOG.log(Level.WARNING, "{0}: {1}; trying the next candidate", library.displayName(), attempt);
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

    /**
     * Where bundled libraries are extracted: streamfusion.native.dir, else STREAMFUSION_NATIVE_DIR, else the
     * user's cache folder ($XDG_CACHE_HOME, else ~/.cache) + streamfusion/native. Never a shared temp folder.
     */
    Path nativeDir() {
        String dir = setting("streamfusion.native.dir");
        if (dir == null) {
            dir = env("STREAMFUSION_NATIVE_DIR");
        }
        if (dir != null) {
            return Path.of(dir);
        }
        String cache = env("XDG_CACHE_HOME");
        Path base = cache != null && Path.of(cache).isAbsolute() ? Path.of(cache)
                : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("streamfusion").resolve("native");
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
