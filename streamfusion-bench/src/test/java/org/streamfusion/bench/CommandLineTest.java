package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The one {@code streamfusion} command line: every subcommand listed and documented, a typo a one-line usage error. */
class CommandLineTest {
    /** What a run printed and its exit code. */
    record Run(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- out ---\n" + out + "--- err ---\n" + err;
        }
    }

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.commandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).execute(args);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Every command below {@code cl}, by its qualified name, the group commands too. */
    private static List<CommandLine> all(CommandLine cl) {
        List<CommandLine> found = new ArrayList<>();
        for (CommandLine sub : new java.util.LinkedHashSet<>(cl.getSubcommands().values())) {
            found.add(sub);
            found.addAll(all(sub));
        }
        return found;
    }

    @Test
    void helpListsEverySubcommandAndEveryGpuCheck() {
        Run help = run("--help");
        assertEquals(0, help.code(), help.toString());
        CommandLine main = Main.commandLine();
        for (CommandLine sub : new java.util.LinkedHashSet<>(main.getSubcommands().values())) {
            List<String> names = new ArrayList<>(List.of(sub.getCommandName()));
            names.addAll(List.of(sub.getCommandSpec().aliases()));
            assertTrue(help.out().contains("\n  " + String.join(", ", names) + " "), names + " listed:\n" + help);
        }
        for (String name : List.of("demo", "plan", "simulate", "calibrate", "launch", "sweep", "sweep-report", "report", "check",
                "simulator-validation", "simulator-predictions", "test", "jmh", "jmh-launch")) {
            assertTrue(main.getSubcommands().containsKey(name), name);
        }
        Run checks = run("check", "--help");
        assertEquals(0, checks.code(), checks.toString());
        for (String name : List.of("attention", "graphs", "qkv-exchange", "kernel-floor", "all-to-all", "caller-tensors",
                "communicator", "emulated-link", "joint")) {
            assertTrue(checks.out().contains("\n  " + name + " "), name + " listed:\n" + checks);
        }
        assertEquals(9, main.getSubcommands().get("check").getSubcommands().size(), "the GPU checks");
    }

    @Test
    void everySubcommandPrintsItsOwnHelpAndExitsZero() {
        List<CommandLine> commands = all(Main.commandLine());
        assertEquals(14 + 9, commands.size(), "the commands and the GPU checks");
        for (CommandLine c : commands) {
            String name = c.getCommandSpec().qualifiedName(" ");
            List<String> args = new ArrayList<>(List.of(name.split(" ")).subList(1, name.split(" ").length));
            args.add("--help");
            Run r = run(args.toArray(String[]::new));
            assertEquals(0, r.code(), name + ": " + r);
            assertTrue(r.out().startsWith("Usage: " + name + " "), name + ": " + r);
            assertTrue(r.err().isEmpty(), name + ": " + r);
        }
    }

    @Test
    void aMisspeltCommandOrOptionExitsTwoWithOneLineNamingTheSuggestion() {
        Map<List<String>, String> typos = Map.of(
                List.of("sweeep"), "Unmatched argument at index 0: 'sweeep'; did you mean sweep or ",
                List.of("check", "atention"), "Unmatched argument at index 1: 'atention'; did you mean attention",
                List.of("plan", "--topolgy", "2x2"), "'--topolgy', '2x2'; did you mean --topology",
                List.of("simulate", "--profile", "a100", "--topology", "2x2", "--fp9"), "did you mean --fp8");
        typos.forEach((args, expected) -> {
            Run r = run(args.toArray(String[]::new));
            assertEquals(2, r.code(), args + ": " + r);
            List<String> lines = r.err().lines().toList();
            assertEquals(2, lines.size(), args + ": one error line and the hint: " + r);
            assertTrue(lines.getFirst().contains(expected), args + ": " + r);
            assertTrue(lines.get(1).startsWith("Try 'streamfusion") && lines.get(1).endsWith(" --help' for the usage."),
                    args + ": " + r);
            assertTrue(r.out().isEmpty(), args + ": " + r);
        });
    }

    @Test
    void aRefusedValueExitsTwoNamingItAndTheRule() {
        Run topology = run("plan", "--topology", "2y2");
        assertEquals(2, topology.code(), topology.toString());
        assertTrue(topology.err().startsWith("Invalid value for option '--topology': topology '2y2' (rule: a topology is"
                + " MxG"), topology.toString());
        Run profile = run("simulate", "--topology", "1x8", "--profile", "b200");
        assertEquals(2, profile.code(), profile.toString());
        assertEquals("streamfusion simulate: hardware profile 'b200' (rule: h200, a100, or a profile file ending in"
                + " .properties)", profile.err().strip());
        Run noCommand = run();
        assertEquals(2, noCommand.code(), noCommand.toString());
        assertTrue(noCommand.err().startsWith("Missing required subcommand"), noCommand.toString());
    }

    @Test
    void launchRunsAStreamfusionCommandInEveryRankAndChecksItsArgumentsFirst() {
        Launcher.Options check = Launcher.Options.parse(List.of("--nproc", "4", "--jvm-arg", "-Xmx1g", "check", "attention",
                "--topology", "2x2", "--no-check"));
        assertEquals(Main.class.getName(), check.mainClass());
        assertEquals(List.of("check", "attention", "--topology", "2x2", "--no-check"), check.args());
        assertEquals(List.of(LaunchCommand.NATIVE_ACCESS, "-Xmx1g"), check.jvmArgs());
        assertEquals(4, check.nproc());
        Launcher.Options byClass = Launcher.Options.parse(List.of("--nproc", "1", "org.openjdk.jmh.Main", "-f", "1"));
        assertEquals("org.openjdk.jmh.Main", byClass.mainClass());
        assertEquals(List.of("-f", "1"), byClass.args());
        Run typo = run("launch", "--nproc", "2", "check", "attention", "--topolgy", "2x2");
        assertEquals(2, typo.code(), typo.toString());
        assertTrue(typo.err().startsWith("Unknown options: '--topolgy', '2x2'; did you mean --topology?\n"
                + "Try 'streamfusion check attention --help'"), typo.toString());
        Run unknown = run("launch", "--nproc", "2", "chek", "attention");
        assertEquals(2, unknown.code(), unknown.toString());
        assertTrue(unknown.err().startsWith("'chek' is neither a streamfusion command (demo, plan, "), unknown.toString());
        Run rule = run("launch", "--nproc", "0", "demo");
        assertEquals(2, rule.code(), rule.toString());
        assertTrue(rule.err().startsWith("--nproc 0 --nnodes 1 --node-rank 0 (rule: 0 < nproc <= 1024"), rule.toString());
    }

    @Test
    void theBundleToolsFindTheirJarsInTheBundlesLibOrNameTheOneMissing(@TempDir Path lib) throws Exception {
        var missing = assertThrows(NoSuchFileException.class, () -> BundleCommands.jar(lib, "benchmarks"));
        assertEquals(lib.resolve("benchmarks*.jar").toString(), missing.getFile());
        assertTrue(missing.getReason().contains("the bundle's lib/ has it"), missing.getReason());
        Files.createFile(lib.resolve("benchmarks.txt"));
        Path console = Files.createFile(lib.resolve("junit-platform-console-standalone-1.13.4.jar"));
        assertThrows(NoSuchFileException.class, () -> BundleCommands.jar(lib, "benchmarks"));
        assertEquals(console, BundleCommands.jar(lib, "junit-platform-console-standalone"));
    }
}
