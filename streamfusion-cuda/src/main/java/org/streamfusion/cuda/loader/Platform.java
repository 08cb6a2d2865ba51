package org.streamfusion.cuda.loader;

import java.util.Locale;

/** The platform directory name used inside the jar, e.g. {@code linux-x86_64}. */
public final class Platform {
    private Platform() {
    }

    /** {@return this JVM's platform directory name, from {@code os.name} and {@code os.arch}} */
    public static String current() {
        return directory(System.getProperty("os.name", ""), System.getProperty("os.arch", ""));
    }

    static String directory(String osName, String osArch) {
        String os = osName.toLowerCase(Locale.ROOT);
        String osPart = os.startsWith("linux") ? "linux" : os.startsWith("windows") ? "windows"
                : os.startsWith("mac") ? "macos" : os.replaceAll("[^a-z0-9]", "");
        String arch = switch (osArch.toLowerCase(Locale.ROOT)) {
            case "amd64", "x86_64", "x64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> osArch.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "");
        };
        return osPart + "-" + arch;
    }
}
