package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line on a class path without JFreeChart, as {@code java -cp benchmarks.jar} runs it (the jar leaves
 * JFreeChart out): the planner runs, and each report that draws plots is refused with exit code 2, naming the jar.
 */
class WithoutJFreeChartTest {
    /** This test's class path less the JFreeChart jar, in a loader of its own under the platform loader. */
    private static URLClassLoader withoutJFreeChart() throws MalformedURLException {
        String path = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<URL> urls = new ArrayList<>();
        for (String entry : path.split(File.pathSeparator)) {
            if (!entry.isBlank() && !Path.of(entry).getFileName().toString().startsWith("jfreechart")) {
                urls.add(Path.of(entry).toUri().toURL());
            }
        }
        return new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
    }

    /** Runs {@code args} through {@link Main#commandLine} as loaded by {@code loader}: exit code, output, errors. */
    private static Object[] run(ClassLoader loader, String... args) throws ReflectiveOperationException {
        var commandLine = Class.forName(Main.class.getName(), true, loader)
                .getDeclaredMethod("commandLine", PrintWriter.class, PrintWriter.class);
        commandLine.setAccessible(true);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        Object line = commandLine.invoke(null, new PrintWriter(out, true), new PrintWriter(err, true));
        PrintStream standardOut = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream(); // plan prints its table on System.out
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        try {
            int code = (int) line.getClass().getMethod("execute", String[].class).invoke(line, (Object) args);
            return new Object[] {code, out + printed.toString(StandardCharsets.UTF_8), err.toString()};
        } finally {
            System.setOut(standardOut);
        }
    }

    @Test
    void thePlannerRunsAndTheReportsAreRefusedNamingJFreeChart(@TempDir Path dir) throws Exception {
        try (URLClassLoader loader = withoutJFreeChart()) {
            assertThrows(ClassNotFoundException.class, () -> Class.forName("org.jfree.chart.JFreeChart", false, loader),
                    "the loader leaves JFreeChart out");
            Object[] plan = run(loader, "plan", "-t", "2x2", "-S", "8192", "-H", "8", "-D", "128");
            assertEquals(0, plan[0], "plan: " + plan[2]);
            assertTrue(((String) plan[1]).contains("chosen: "), (String) plan[1]);
            for (String report : List.of("sweep-report", "simulator-validation", "simulator-predictions")) {
                List<String> args = new ArrayList<>(List.of(report));
                if (report.equals("sweep-report")) {
                    args.add(dir.resolve("missing.csv").toString());
                }
                args.add(dir.resolve(report).toString());
                Object[] refused = run(loader, args.toArray(String[]::new));
                assertEquals(2, refused[0], report + ": " + refused[2]);
                assertTrue(((String) refused[2]).contains(report + " without JFreeChart on the class path")
                        && ((String) refused[2]).contains("org.jfree:jfreechart"), report + ": " + refused[2]);
            }
        }
    }
}
