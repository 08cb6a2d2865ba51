package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The README's quick start is what examples/ runs in CI: each Java block marked {@code <!-- verbatim: PATH -->} is
 * that file's text, and the JVM flags of the README's {@code java} lines are the flags the examples run with.
 */
class ReadmeQuickStartTest {
    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final Pattern VERBATIM = Pattern.compile("<!-- verbatim: (\\S+) -->\\n```java\\n(.*?)```",
            Pattern.DOTALL);
    private static final Pattern FLAG = Pattern.compile(
            "--(?:enable-native-access=\\S+|illegal-native-access=\\S+|add-modules[ =]\\S+)");
    private static final Pattern ARGUMENT = Pattern.compile("<argument>([^<]*)</argument>");

    @Test
    void theQuickStartBlocksAreTheExamplesText() throws IOException {
        String readme = Files.readString(ROOT.resolve("README.md"));
        Matcher m = VERBATIM.matcher(readme);
        List<String> files = new ArrayList<>();
        while (m.find()) {
            files.add(m.group(1));
            assertEquals(Files.readString(ROOT.resolve(m.group(1))), m.group(2),
                    "README.md's block differs from " + m.group(1));
        }
        assertEquals(List.of("examples/cpu-only/src/main/java/com/example/cpu/QuickStart.java",
                "examples/dit-service/src/main/java/com/example/dit/GpuQuickStart.java"), files);
    }

    @Test
    void theReadmesJvmFlagsAreTheOnesTheExamplesRunWith() throws IOException {
        Set<String> readme = new TreeSet<>();
        for (String line : Files.readString(ROOT.resolve("README.md")).split("\n")) {
            if (line.matches("\\s+(\\.\\.\\. )?java .*|.* --no-python java .*|.* srun .* java .*")) {
                Matcher f = FLAG.matcher(line);
                while (f.find()) {
                    readme.add(f.group().replace("--add-modules=", "--add-modules "));
                }
            }
        }
        Set<String> examples = new TreeSet<>();
        for (String pom : List.of("examples/cpu-only/pom.xml", "examples/dit-service/pom.xml")) {
            List<String> arguments = new ArrayList<>();
            Matcher a = ARGUMENT.matcher(Files.readString(ROOT.resolve(pom)));
            while (a.find()) {
                arguments.add(a.group(1));
            }
            for (int i = 0; i < arguments.size(); i++) {
                String argument = arguments.get(i);
                if (argument.equals("--add-modules")) {
                    examples.add(argument + " " + arguments.get(i + 1));
                } else if (FLAG.matcher(argument).matches()) {
                    examples.add(argument);
                }
            }
        }
        assertTrue(readme.contains("--enable-native-access=org.streamfusion.bindings,org.streamfusion.cuda"), readme::toString);
        assertEquals(examples, readme, "the JVM flags of the README's java lines and of the examples' runs");
    }
}
