package org.streamfusion.cuda.loader;

import java.util.List;
import org.streamfusion.StreamFusionException;

/**
 * A native library could not be loaded. The message names the library, every candidate tried with
 * the loader's own error text (dlerror), and the system property / environment variable that
 * select a file explicitly.
 */
public final class NativeLibraryException extends StreamFusionException {
    private static final long serialVersionUID = 1L;

    /**
     * One candidate that was tried and why it failed.
     *
     * @param candidate the file or soname tried, with how it was chosen in parentheses
     * @param error     the loader's error text (dlerror), or why the candidate was not tried
     */
    public record Attempt(String candidate, String error) {
        @Override
        public String toString() {
            return candidate + ": " + error;
        }
    }

    /** The library's display name. */
    private final String library;
    private final transient List<Attempt> attempts;
    /** The system property that selects a file. */
    private final String property;
    /** The environment variable that selects a file. */
    private final String environmentVariable;

    /**
     * An exception whose message lists every attempt and how to choose the file.
     *
     * @param library             the library's display name, e.g. {@code CUDA runtime (libcudart)}
     * @param attempts            every candidate tried, in order; may be empty
     * @param property            the system property that selects a file
     * @param environmentVariable the environment variable that selects a file
     */
    public NativeLibraryException(String library, List<Attempt> attempts, String property,
                                  String environmentVariable) {
        super(format(library, attempts, property, environmentVariable));
        this.library = library;
        this.attempts = List.copyOf(attempts);
        this.property = property;
        this.environmentVariable = environmentVariable;
    }

    private static String format(String library, List<Attempt> attempts, String property, String env) {
        var sb = new StringBuilder("Cannot load ").append(library).append(": ");
        if (attempts.isEmpty()) {
            sb.append("no candidate paths.");
        } else {
            sb.append(attempts.size()).append(attempts.size() == 1 ? " path tried:" : " paths tried:");
            for (Attempt a : attempts) {
                sb.append("\n  - ").append(a);
            }
        }
        sb.append("\nSet -D").append(property).append("=/path/to/file (or the environment variable ")
          .append(env).append(") to choose the file.");
        return sb.toString();
    }

    /** {@return the display name of the library that could not be loaded} */
    public String library() {
        return library;
    }

    /** {@return every candidate tried, in order (unmodifiable)} */
    public List<Attempt> attempts() {
        return attempts;
    }

    /** {@return the system property that selects a file, e.g. {@code streamfusion.cudart.path}} */
    public String property() {
        return property;
    }

    /** {@return the environment variable that selects a file, e.g. {@code STREAMFUSION_CUDART_PATH}} */
    public String environmentVariable() {
        return environmentVariable;
    }
}
