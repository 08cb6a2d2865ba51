package org.streamfusion.sim;

import org.streamfusion.InvalidStateException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.streamfusion.InterMachineLink;
import org.streamfusion.InvalidConfigurationException;

/**
 * A {@link HardwareProfile} as a file ({@link Properties}): one key per constant, each with a {@code KEY.source}
 * saying where its value comes from; {@code link} is an {@link InterMachineLink#parse} form. The shipped
 * profiles are the module's resources {@code h200.properties} and {@code a100.properties}. A file written before
 * the wave cost existed lacks {@code waveSeconds}: it reads as 0, which prices its kernels as that file's version did.
 */
final class ProfileFile {
    private static final List<String> KEYS = HardwareProfile.FILE_KEYS;
    /** Keys a file may lack, with the value that reproduces the model of the files written before they existed. */
    private static final Map<String, String> ADDED_LATER = Map.of("waveSeconds", "0");

    private ProfileFile() {
    }

    static HardwareProfile resource(String name) {
        try (InputStream in = ProfileFile.class.getResourceAsStream(name + ".properties")) {
            if (in == null) {
                throw new InvalidStateException("the module lacks its profile resource " + name + ".properties");
            }
            Properties p = new Properties();
            p.load(new InputStreamReader(in, StandardCharsets.UTF_8));
            return of(p, "profile resource " + name + ".properties");
        } catch (IOException e) {
            throw new InvalidStateException("reading the profile resource " + name + ".properties: " + e.getMessage(), e);
        }
    }

    static HardwareProfile read(Path file) {
        Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(in);
        } catch (IOException e) {
            throw new InvalidConfigurationException("profile file " + file + " (" + e.getMessage() + ")",
                    "a profile file is a readable properties file");
        }
        return of(p, "profile file " + file);
    }

    static HardwareProfile of(Properties given, String origin) {
        Properties p = new Properties();
        p.putAll(given);
        ADDED_LATER.forEach((key, value) -> {
            if (p.getProperty(key) == null && p.getProperty(key + ".source") == null) {
                p.setProperty(key, value);
                p.setProperty(key + ".source", "absent: a file written before " + key + " existed");
            }
        });
        for (String key : KEYS) {
            String value = p.getProperty(key);
            String source = p.getProperty(key + ".source");
            if (value == null || value.isBlank() || source == null || source.isBlank()) {
                throw new InvalidConfigurationException(origin + ": " + key + "=" + value + ", " + key + ".source="
                        + source, "a profile file gives every constant (" + String.join(", ", KEYS) + ") and its source");
            }
        }
        return new HardwareProfile(p.getProperty("name").trim(), whole(p, "version", origin),
                whole(p, "streamingMultiprocessors", origin), number(p, "tileFlopsPerSecondD64", origin),
                number(p, "tileFlopsPerSecondD128", origin), number(p, "launchSeconds", origin),
                number(p, "waveSeconds", origin), number(p, "memoryBytesPerSecond", origin), number(p, "nvlinkBytesPerSecond", origin),
                number(p, "copyEngineBytesPerSecond", origin), number(p, "twoSidedOpSeconds", origin),
                number(p, "oneSidedOpSeconds", origin), number(p, "smContention", origin),
                number(p, "attentionLayerFactor", origin),
                number(p, "proxyMessageSeconds", origin),
                number(p, "pcieBytesPerSecond", origin), InterMachineLink.parse(p.getProperty("link")));
    }

    private static double number(Properties p, String key, String origin) {
        try {
            return Double.parseDouble(p.getProperty(key).trim());
        } catch (NumberFormatException e) {
            throw new InvalidConfigurationException(origin + ": " + key + "=" + p.getProperty(key), key + " is a number");
        }
    }

    private static int whole(Properties p, String key, String origin) {
        try {
            return Integer.parseInt(p.getProperty(key).trim());
        } catch (NumberFormatException e) {
            throw new InvalidConfigurationException(origin + ": " + key + "=" + p.getProperty(key),
                    key + " is a whole number");
        }
    }
}
