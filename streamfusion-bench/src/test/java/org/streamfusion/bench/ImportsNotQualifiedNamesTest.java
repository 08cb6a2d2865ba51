package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Main code names types by import, not inline: a qualified name such as {@code java.util.Map} in a statement
 * fails here with its file and line. Comments, javadoc and string literals may spell names out; the generated
 * bindings are left alone.
 */
class ImportsNotQualifiedNamesTest {
    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final List<String> MODULES = List.of("streamfusion-core", "streamfusion-cuda", "streamfusion-bench");
    /** A package path (lower-case segments) ending in a type name, not preceded by a name or a dot. */
    private static final Pattern QUALIFIED = Pattern.compile("(?<![\\w.])(?:java|javax|jdk|org|picocli)(?:\\.[a-z_][a-z0-9_]*)+\\.[A-Z]\\w*");
    private static final Pattern STRING = Pattern.compile("\"(?:\\\\.|[^\"\\\\])*\"|'(?:\\\\.|[^'\\\\])'");

    @Test
    void mainSourcesNameTypesByImport() throws IOException {
        List<String> found = new ArrayList<>();
        for (String module : MODULES) {
            try (Stream<Path> files = Files.walk(ROOT.resolve(module).resolve("src/main/java"))) {
                for (Path file : files.filter(p -> p.toString().endsWith(".java")
                        && !p.getFileName().toString().equals("module-info.java")).toList()) {
                    found.addAll(qualifiedNames(ROOT.relativize(file).toString(), Files.readAllLines(file)));
                }
            }
        }
        assertEquals(List.of(), found, "inline qualified names in main code: import them");
    }

    @Test
    void theScanSeesAStatementButNotACommentOrAString() {
        List<String> hits = qualifiedNames("Example.java", List.of(
                "import java.util.Map;",
                "/** See {@link java.util.List}. */",
                "var m = new java.util.HashMap<String, Integer>(); // java.util.Set",
                "String s = \"java.util.Deque\";",
                " * java.util.Queue in javadoc"));
        assertEquals(1, hits.size(), hits.toString());
        assertTrue(hits.get(0).contains("Example.java:3") && hits.get(0).contains("java.util.HashMap"), hits.get(0));
    }

    /** Each inline qualified name in {@code lines} as {@code file:line name}, outside comments and strings. */
    static List<String> qualifiedNames(String file, List<String> lines) {
        List<String> found = new ArrayList<>();
        boolean inComment = false;
        for (int i = 0; i < lines.size(); i++) {
            String code = STRING.matcher(lines.get(i)).replaceAll("\"\"");
            StringBuilder kept = new StringBuilder();
            int at = 0;
            while (at < code.length()) {
                if (inComment) {
                    int end = code.indexOf("*/", at);
                    if (end < 0) {
                        at = code.length();
                    } else {
                        inComment = false;
                        at = end + 2;
                    }
                } else if (code.startsWith("/*", at)) {
                    inComment = true;
                    at += 2;
                } else if (code.startsWith("//", at)) {
                    at = code.length();
                } else {
                    kept.append(code.charAt(at++));
                }
            }
            String statement = kept.toString().strip();
            if (statement.startsWith("import ") || statement.startsWith("package ") || statement.startsWith("*")) {
                continue;
            }
            Matcher m = QUALIFIED.matcher(statement);
            while (m.find()) {
                found.add(file + ":" + (i + 1) + " " + m.group());
            }
        }
        return found;
    }
}
