package org.streamfusion.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.streamfusion.StreamFusionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code streamfusion launch [OPTIONS] COMMAND [ARGS...]}: one JVM per GPU of this host through {@link Launcher}, each
 * running a {@code streamfusion} command ({@code check attention --topology 2x2}) or, for a name with a dot, that main
 * class ({@code org.openjdk.jmh.Main}). A streamfusion command's arguments are checked here, before any rank starts.
 */
@Command(name = "launch", description = {"One JVM per GPU of this host, like torchrun; a failed rank stops the job.",
    "Each rank gets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT; every line is prefixed"
        + " with its rank; the exit code is the first failed rank's. COMMAND is a streamfusion command, e.g. 'check"
        + " attention --topology 2x2', or the full name of a main class, e.g. org.openjdk.jmh.Main."})
final class LaunchCommand implements Callable<Integer> {
    /** Every rank may call native code (the CUDA backend). */
    static final String NATIVE_ACCESS = "--enable-native-access=ALL-UNNAMED";

    @Option(names = "--nproc", paramLabel = "N", description = "ranks (JVMs) on this node (default: ${DEFAULT-VALUE})")
    int nproc = 1;

    @Option(names = "--nnodes", paramLabel = "K", description = "nodes in the job (default: ${DEFAULT-VALUE})")
    int nnodes = 1;

    @Option(names = "--node-rank", paramLabel = "I", description = "this node's index; its ranks are I*N onwards"
            + " (default: ${DEFAULT-VALUE})")
    int nodeRank;

    @Option(names = "--master-addr", paramLabel = "HOST", description = "rank 0's host (default: ${DEFAULT-VALUE})")
    String masterAddr = "127.0.0.1";

    @Option(names = "--master-port", paramLabel = "PORT", description = "the rendezvous port; 0 picks a free one, on"
            + " one node only (default: ${DEFAULT-VALUE})")
    int masterPort;

    @Option(names = "--grace-s", paramLabel = "SECONDS", description = "a stopped rank's time between SIGTERM and"
            + " SIGKILL (default: ${DEFAULT-VALUE})")
    long graceSeconds = 5;

    @Option(names = "--one-gpu", description = "run the ranks as threads of this JVM on GPU 0, an in-process world"
            + " (CudaWorld): every mesh on one GPU; for the checks that join through CudaRankDevice")
    boolean oneGpu;

    @Option(names = "--jvm-arg", paramLabel = "ARG", description = "a JVM option for every rank (repeatable); "
            + NATIVE_ACCESS + " is always given")
    List<String> jvmArgs = new ArrayList<>();

    @Parameters(index = "0", paramLabel = "COMMAND", description = "a streamfusion command or a main class")
    String command;

    @Parameters(index = "1..*", paramLabel = "ARGS", description = "its arguments")
    List<String> args = new ArrayList<>();

    @Spec
    CommandSpec spec;

    /**
     * What to start, with the command's arguments checked.
     *
     * @return the launcher's options
     * @throws ParameterException if COMMAND is neither a streamfusion command nor a class name, if its arguments are
     *                            not its command line, or if the launcher's options break their rules
     */
    Launcher.Options options() {
        List<String> rankArgs = new ArrayList<>();
        String mainClass = command;
        if (!command.contains(".")) {
            if (!spec.root().subcommands().containsKey(command)) {
                throw new ParameterException(spec.commandLine(), "'" + command + "' is neither a streamfusion command ("
                        + String.join(", ", spec.root().subcommands().keySet()) + ") nor a main class's full name");
            }
            mainClass = Main.class.getName();
            rankArgs.add(command);
            rankArgs.addAll(args);
            // A typo fails here, not in every rank.
            Main.commandLine(spec.commandLine().getOut(), spec.commandLine().getErr()).parseArgs(rankArgs.toArray(String[]::new));
        } else {
            rankArgs.addAll(args);
        }
        List<String> jvm = new ArrayList<>(jvmArgs);
        if (!jvm.contains(NATIVE_ACCESS)) {
            jvm.addFirst(NATIVE_ACCESS);
        }
        try {
            return new Launcher.Options(nproc, nnodes, nodeRank, masterAddr, masterPort, Duration.ofSeconds(graceSeconds),
                    jvm, mainClass, rankArgs);
        } catch (IllegalArgumentException | StreamFusionException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    /**
     * Runs the job.
     *
     * @return 0 when every rank exited 0; else the failed rank's code
     */
    @Override
    public Integer call() {
        Launcher.Result r = oneGpu ? OneGpuLauncher.run(options(), System.out, null) : Launcher.run(options(), System.out);
        if (r.exitCode() != 0) {
            System.err.println("launch: rank " + r.failedRank() + " failed with exit code " + r.exitCode() + ":\n"
                    + r.failure());
        }
        return r.exitCode();
    }
}
