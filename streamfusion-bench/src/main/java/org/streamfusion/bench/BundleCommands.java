package org.streamfusion.bench;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * The bundle's tools, each in a child JVM with this one's options and the jars it needs from the bundle's
 * {@code lib/} (the folder of this module's jar): the test jars with JUnit's console launcher, and JMH's
 * {@code benchmarks.jar}. From a clone they say which jar is missing ({@code ./mvnw test} runs the tests there).
 */
final class BundleCommands {
    private BundleCommands() {
    }

    /** A tool that passes its arguments on to a child JVM. */
    abstract static class Tool implements Callable<Integer> {
        @Parameters(paramLabel = "ARGS", description = "passed on as they are")
        List<String> args = new ArrayList<>();

        /** {@return the child's command line, before {@link #args}} */
        abstract List<String> command() throws IOException;

        @Override
        public Integer call() throws IOException, InterruptedException {
            List<String> command = command();
            command.addAll(args);
            return new ProcessBuilder(command).inheritIO().start().waitFor();
        }
    }

    /** {@code streamfusion test [JUnit console options]}: every test jar of the bundle. */
    @Command(name = "test", description = "Every test jar of the bundle (JUnit's console launcher; --include-tag gpu).")
    static final class Test extends Tool {
        @Override
        List<String> command() throws IOException {
            Path lib = lib();
            List<String> command = java(classPath() + File.pathSeparator + jar(lib, "junit-platform-console-standalone"));
            command.addAll(List.of("org.junit.platform.console.ConsoleLauncher", "execute"));
            try (Stream<Path> jars = Files.list(lib)) {
                // Everything on the class path: tests that start child JVMs (the launcher's) hand it on.
                jars.filter(j -> j.getFileName().toString().endsWith("-tests.jar")).sorted()
                        .forEach(j -> command.addAll(List.of("--scan-class-path", j.toString())));
            }
            command.addAll(List.of("--disable-banner", "--disable-ansi-colors", "--details=tree"));
            return command;
        }
    }

    /** {@code streamfusion jmh [JMH options]}: the JMH benchmarks. */
    @Command(name = "jmh", description = "The JMH benchmarks of benchmarks.jar, e.g. jmh DowncallBenchmark -f 1.")
    static final class Jmh extends Tool {
        @Override
        List<String> command() throws IOException {
            List<String> command = java(null);
            command.addAll(List.of("-jar", jar(lib(), "benchmarks").toString()));
            return command;
        }
    }

    /** {@code streamfusion jmh-launch LAUNCH_ARGS}: {@code launch} with JMH on every rank's class path. */
    @Command(name = "jmh-launch", description = "launch with JMH on every rank's class path (and its forks').")
    static final class JmhLaunch extends Tool {
        @Override
        List<String> command() throws IOException {
            List<String> command = java(classPath() + File.pathSeparator + jar(lib(), "benchmarks"));
            command.addAll(List.of(Main.class.getName(), "launch"));
            return command;
        }
    }

    /** The folder this module's classes come from: the bundle's {@code lib/}, or {@code target/classes} in a clone. */
    static Path lib() {
        try {
            Path here = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return Files.isDirectory(here) ? here : here.getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot locate the bundle's lib folder: " + e.getMessage(), e);
        }
    }

    /** The jar in {@code lib} whose name starts with {@code prefix}. */
    static Path jar(Path lib, String prefix) throws IOException {
        try (Stream<Path> jars = Files.list(lib)) {
            return jars.filter(j -> j.getFileName().toString().startsWith(prefix) && j.toString().endsWith(".jar"))
                    .findFirst().orElseThrow(() -> new NoSuchFileException(lib.resolve(prefix + "*.jar").toString(), null,
                            "not in this folder; the bundle's lib/ has it (./mvnw -Pgpu-bundle package)"));
        }
    }

    private static String classPath() {
        return System.getProperty("java.class.path");
    }

    /** This JVM's executable and options, and the class path if given. */
    private static List<String> java(String classPath) {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        if (classPath != null) {
            command.addAll(List.of("-cp", classPath));
        }
        return command;
    }
}
