package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.streamfusion.cuda.loader.NativeLibrary;

/**
 * docs/configuration.md is the one list of settings: every system property and environment variable that the
 * library's code (every module's main sources, the bundle's launcher scripts) reads is on it, and every one it
 * lists is read. A new {@code System.getProperty}, {@code Boolean.getBoolean}, {@code Integer.getInteger},
 * {@code Long.getLong}, {@code getenv} or launcher-variable read fails here until the page names it.
 */
class ConfigurationPageTest {
    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final List<String> MODULES = List.of("bindings", "streamfusion-core", "streamfusion-cuda",
            "streamfusion-bench");
    /** A reader's argument: a literal or a constant's name. */
    private static final Pattern READ = Pattern.compile(
            "(?:System\\.getProperty|Boolean\\.getBoolean|Integer\\.getInteger|Long\\.getLong|System\\.getenv|"
                    + "setting|env)\\(\\s*(?:\"([^\"]+)\"|([A-Z][A-Z0-9_]*))\\s*[,)]");
    private static final Pattern CONSTANT = Pattern.compile("\\b([A-Z][A-Z0-9_]*)\\s*=\\s*\"([^\"]*)\"");
    /** The library's own property names; a literal of this form anywhere is a setting (WorkLimits passes them on). */
    private static final Pattern OWN_PROPERTY = Pattern.compile("\"(streamfusion(?:\\.[a-z][A-Za-z0-9]*)+)\"");
    private static final Pattern CAPS = Pattern.compile("\"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)\"");
    /** A shell variable read with a default, {@code ${NAME:-...}}. */
    private static final Pattern SHELL_READ = Pattern.compile("\\$\\{([A-Z][A-Z0-9_]+):-");
    private static final Pattern PAGE_NAME = Pattern.compile("^\\| `([^`]+)`", Pattern.MULTILINE);

    @Test
    void everySettingTheCodeReadsIsOnThePageAndEveryListedOneIsRead() throws IOException {
        Set<String> read = readByCode();
        String page = Files.readString(ROOT.resolve("docs/configuration.md"));
        Set<String> missing = new TreeSet<>();
        for (String name : read) {
            if (!page.contains("`" + name + "`")) {
                missing.add(name);
            }
        }
        assertEquals(Set.of(), missing, "read by the code but not on docs/configuration.md");
        Set<String> listed = new TreeSet<>();
        Matcher m = PAGE_NAME.matcher(page);
        while (m.find()) {
            listed.add(m.group(1));
        }
        listed.removeAll(read);
        assertEquals(Set.of(), listed, "on docs/configuration.md but read by no code");
    }

    @Test
    void theScanFindsTheReadersItClaimsTo() {
        Set<String> read = readByCode();
        for (String known : List.of("streamfusion.store.bind", "org.streamfusion.cpu.scalar", "streamfusion.limit.simulatorSteps",
                "jextract.trace.downcalls", "STREAMFUSION_STORE_SECRET", "MASTER_ADDR", "SLURM_PROCID",
                "STREAMFUSION_NATIVE_DIR", "STREAMFUSION_JAVA_OPTS", "streamfusion.nccl.path")) {
            assertTrue(read.contains(known), known + " not found among " + read);
        }
    }

    /** Every setting read by the main sources and the bundle's scripts; the JDK's own properties left out. */
    static Set<String> readByCode() {
        Set<String> names = new TreeSet<>();
        Map<String, String> constants = new HashMap<>();
        Map<Path, String> sources = new HashMap<>();
        for (String module : MODULES) {
            try (Stream<Path> files = Files.walk(ROOT.resolve(module).resolve("src/main/java"))) {
                files.filter(p -> p.toString().endsWith(".java")).forEach(p -> sources.put(p, read(p)));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        sources.values().forEach(text -> {
            Matcher c = CONSTANT.matcher(text);
            while (c.find()) {
                constants.putIfAbsent(c.group(1), c.group(2));
            }
        });
        for (String text : sources.values()) {
            Matcher r = READ.matcher(text);
            while (r.find()) {
                String name = r.group(1) != null ? r.group(1) : constants.get(r.group(2));
                if (name != null && !jdkProperty(name)) {
                    names.add(name);
                }
            }
            Matcher own = OWN_PROPERTY.matcher(text);
            while (own.find()) {
                names.add(own.group(1));
            }
            if (text.contains("getenv")) { // an environment reader: its upper-case literals are variable names
                Matcher caps = CAPS.matcher(text);
                while (caps.find()) {
                    if (caps.group(1).length() >= 4) {
                        names.add(caps.group(1));
                    }
                }
            }
        }
        for (NativeLibrary library : NativeLibrary.values()) {
            names.add(library.propertyName());
            names.add(library.environmentVariable());
        }
        for (String script : List.of("streamfusion")) { // the bundle's command; gpu-session.sh documents its own
            Matcher s = SHELL_READ.matcher(read(ROOT.resolve("streamfusion-bench/src/bundle").resolve(script)));
            while (s.find()) {
                names.add(s.group(1));
            }
        }
        return names;
    }

    private static boolean jdkProperty(String name) {
        return name.startsWith("java.") || name.startsWith("os.") || name.startsWith("user.") || name.startsWith("jdk.")
                || name.startsWith("file.") || name.startsWith("line.");
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
