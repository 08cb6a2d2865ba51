package org.streamfusion.cuda;

import java.util.List;

/**
 * A native library could not be loaded. The message names the library, every candidate tried with
 * the loader's own error text (dlerror), and the system property / environment variable that
 * select a file explicitly.
 */
public final class NativeLibraryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** One candidate that was tried and why it failed. */
    public record Attempt(String candidate, String error) {
        @Override
        public String toString() {
            return candidate + ": " + error;
        }
    }

    private final String library;
    private final transient List<Attempt> attempts;
    private final String property;
    private final String environmentVariable;

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

    public String library() {
        return library;
    }

    public List<Attempt> attempts() {
        return attempts;
    }

    public String property() {
        return property;
    }

    public String environmentVariable() {
        return environmentVariable;
    }
}
