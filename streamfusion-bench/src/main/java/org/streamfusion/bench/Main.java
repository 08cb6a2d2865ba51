package org.streamfusion.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.streamfusion.InvalidConfigurationException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The {@code streamfusion} command line: one picocli command with a subcommand for each job (the README's demo, the
 * planner, the simulator, the launcher, the sweep and its reports, the GPU checks, and the bundle's tests and JMH).
 * {@code streamfusion --help} lists them; each has {@code --help}. A bad command line or configuration prints one line
 * naming the value (with picocli's suggestion for a misspelt name) and a hint, and exits with 2.
 */
@Command(name = "streamfusion", description = "StreamFusion-J: distributed attention for Diffusion Transformers.",
        subcommands = {DemoCommand.class, PlanCommand.class, SimulatedPlan.class, CalibrateCommand.class, LaunchCommand.class,
            SweepCommand.class, SweepReport.class, SimulatorValidationReport.class, SimulatorPredictionsReport.class,
            Main.Check.class, SweepRank.class, BundleCommands.Test.class, BundleCommands.Jmh.class,
            BundleCommands.JmhLaunch.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success; a check passed", "1:a check failed, or a job, a rank or a file failed",
            "2:a bad command line or configuration (the message names the value and the rule)"},
        footer = {"%nGPU checks run one JVM per GPU: streamfusion launch --nproc 4 check attention --topology 2x2"})
public final class Main {
    @Option(names = {"-h", "--help"}, usageHelp = true, scope = ScopeType.INHERIT, description = "print this help and exit")
    boolean help;

    /** {@code streamfusion check NAME}: the GPU checks, each one rank of a job that {@code launch} starts. */
    @Command(name = "check", description = "The GPU checks: each is one rank of a job; start them with launch.",
            subcommands = {GpuCheck.class, GraphCheck.class, QkvExchangeCheck.class, KernelFloorCheck.class,
                AllToAllBandwidth.class, CallerTensorsCheck.class, CommunicatorCheck.class, EmulatedLinkCheck.class,
                JointCheck.class})
    static final class Check {
    }

    private Main() {
    }

    /**
     * Runs the command line and exits with its code (see {@code streamfusion --help}).
     *
     * @param args a subcommand and its options
     */
    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** {@return the whole command line, writing to this process's standard output and error} */
    static CommandLine commandLine() {
        return commandLine(System.out, System.err);
    }

    /**
     * The whole command line.
     *
     * @param out where help and results go
     * @param err where errors go
     * @return the command line, ready to execute
     */
    static CommandLine commandLine(PrintStream out, PrintStream err) {
        return commandLine(new PrintWriter(out, true, StandardCharsets.UTF_8), new PrintWriter(err, true,
                StandardCharsets.UTF_8));
    }

    /**
     * The whole command line.
     *
     * @param out where help and results go
     * @param err where errors go
     * @return the command line, ready to execute
     */
    static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler(Main::usageError);
        cl.setExecutionExceptionHandler((e, command, parsed) -> failure(e, command));
        // Everything after the launched command (or a tool's arguments) belongs to it, options too.
        for (String passThrough : List.of("launch", "test", "jmh", "jmh-launch")) {
            cl.getSubcommands().get(passThrough).setStopAtPositional(true);
        }
        for (String tool : List.of("test", "jmh", "jmh-launch")) {
            cl.getSubcommands().get(tool).setUnmatchedOptionsArePositionalParams(true);
        }
        return cl;
    }

    /** One line naming the bad value (and picocli's suggestions), then where the help is; exit code 2. */
    private static int usageError(ParameterException error, String[] args) {
        CommandLine command = error.getCommandLine();
        ParameterException e = error;
        if (e instanceof CommandLine.MissingParameterException && !command.getUnmatchedArguments().isEmpty()) {
            // picocli checks required options first: a misspelt one (--topolgy) is the error to name.
            e = new UnmatchedArgumentException(command, command.getUnmatchedArguments());
        }
        String line = e.getMessage();
        if (e instanceof UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
            line += "; did you mean " + String.join(" or ", u.getSuggestions()) + "?";
        }
        command.getErr().println(line);
        command.getErr().println("Try '" + command.getCommandSpec().qualifiedName() + " --help' for the usage.");
        return command.getCommandSpec().exitCodeOnInvalidInput();
    }

    /**
     * Refuses {@code command}, a report that draws plots, where JFreeChart is not on the class path (as with {@code java
     * -cp benchmarks.jar}, which leaves it out; the bundle's {@code bin/streamfusion} carries it). Names no JFreeChart
     * class, so that it runs where {@link Charts} cannot.
     *
     * @throws InvalidConfigurationException naming the command and the missing library
     */
    static void requireJFreeChart(String command) {
        try {
            Class.forName("org.jfree.chart.JFreeChart", false, Main.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new InvalidConfigurationException(command + " without JFreeChart on the class path",
                    "its plots need org.jfree:jfreechart 1.5.6 on the class path (the bundle's bin/streamfusion has it)");
        }
    }

    /**
     * A refused configuration is the caller's error (exit code 2), a file that cannot be read or written a failure
     * (1), both in one line; anything else is a bug and keeps its stack trace (1).
     */
    private static int failure(Exception e, CommandLine command) {
        String name = command.getCommandSpec().qualifiedName();
        if (e instanceof InvalidConfigurationException) {
            command.getErr().println(name + ": " + e.getMessage());
            return command.getCommandSpec().exitCodeOnInvalidInput();
        }
        if (e instanceof IOException || e instanceof UncheckedIOException) {
            command.getErr().println(name + ": " + e);
            return command.getCommandSpec().exitCodeOnExecutionException();
        }
        e.printStackTrace(command.getErr());
        return command.getCommandSpec().exitCodeOnExecutionException();
    }
}
