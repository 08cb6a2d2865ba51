package org.streamfusion.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.launch.StoreSecret;

/**
 * Starts one JVM per GPU of this host and watches them, like torchrun: sets {@code RANK, WORLD_SIZE,
 * LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT} and the job's rendezvous secret
 * {@code STREAMFUSION_STORE_SECRET} (made fresh for a one-node job unless set; a multi-node job needs it set, the
 * same on every node), keeps NVLink multicast off with
 * {@code NCCL_NVLS_ENABLE=0} and {@code NVSHMEM_DISABLE_NVLS=1} unless set, prefixes every output line
 * with the rank, and when any rank fails stops every other one within the grace period and exits with
 * the failed rank's code and message.
 *
 * <p>{@code streamfusion launch} is its command line.
 */
public final class Launcher {
    /**
     * How the job ended: the exit code, and the rank and last lines of the first rank that failed.
     *
     * @param exitCode   0 when every rank exited 0; else the failed rank's code, 124 past the limit,
     *                   130 when interrupted, 1 when a rank could not start
     * @param failedRank the global rank that failed first; -1 when none did
     * @param failure    its last output lines (at most 20), or why the job was stopped; empty on success
     */
    public record Result(int exitCode, int failedRank, String failure) {
    }

    /**
     * The parsed command line.
     *
     * @param nproc      ranks (JVMs) to start on this node, 1..1024
     * @param nnodes     nodes in the job, 1..65536
     * @param nodeRank   this node's index, {@code 0 <= nodeRank < nnodes}; its ranks are
     *                   {@code nodeRank * nproc} onwards
     * @param masterAddr rank 0's host, as {@code MASTER_ADDR}
     * @param masterPort the rendezvous port; 0 picks a free one (single node only)
     * @param grace      how long a rank has between SIGTERM and SIGKILL when the job is stopped, 0..1 hour
     * @param jvmArgs    JVM options for every rank
     * @param mainClass  the class every rank runs, on this JVM's class path
     * @param args       the arguments of {@code mainClass}
     */
    public record Options(int nproc, int nnodes, int nodeRank, String masterAddr, int masterPort, Duration grace,
            List<String> jvmArgs, String mainClass, List<String> args) {
        /**
         * Checks the rules given with each component.
         *
         * @throws IllegalArgumentException naming the values and the rule they break
         */
        public Options {
            if (nproc <= 0 || nproc > 1024 || nnodes <= 0 || nnodes > 65_536 || nodeRank < 0 || nodeRank >= nnodes) {
                throw new InvalidConfigurationException("--nproc " + nproc + " --nnodes " + nnodes
                        + " --node-rank " + nodeRank, "0 < nproc <= 1024, 0 < nnodes <= 65536, 0 <= node-rank < nnodes");
            }
            if (grace == null || grace.isNegative() || grace.compareTo(Duration.ofHours(1)) > 0) {
                throw new InvalidConfigurationException("--grace-s " + (grace == null ? null
                        : grace.toSeconds()), "0 <= grace-s <= 3600");
            }
            if (masterPort < 0 || masterPort > 65_535) {
                throw new InvalidConfigurationException("--master-port " + masterPort,
                        "0 <= master-port <= 65535 (0: a free one)");
            }
            if (mainClass == null || mainClass.isBlank()) {
                throw new IllegalArgumentException("no main class given");
            }
            if (nnodes > 1 && (masterPort == 0 || masterAddr.equals("127.0.0.1"))) {
                throw new IllegalArgumentException("--nnodes " + nnodes + " needs --master-addr (rank 0's host, not "
                        + masterAddr + ") and --master-port (not " + masterPort + ") given the same on every node");
            }
        }

        /**
         * The options of {@code streamfusion launch ARGV}, parsed as that command parses them.
         *
         * @param argv the launcher's options, then the command every rank runs
         * @return the options
         * @throws picocli.CommandLine.ParameterException if they are not a launch command line
         */
        static Options parse(List<String> argv) {
            picocli.CommandLine main = Main.commandLine();
            main.parseArgs(Stream.concat(Stream.of("launch"), argv.stream())
                    .toArray(String[]::new));
            LaunchCommand launch = main.getSubcommands().get("launch").getCommand();
            return launch.options();
        }
    }

    private Launcher() {
    }

    /**
     * Starts the ranks and waits for them, with no time limit.
     *
     * @param o       what to run
     * @param console where every rank's output goes, each line prefixed with its rank
     * @return how the job ended
     */
    public static Result run(Options o, PrintStream console) {
        return run(o, console, null);
    }

    /**
     * Like {@link #run(Options, PrintStream)}, but stops every rank and returns exit code 124 once
     * {@code limit} has passed ({@code null}: no limit).
     *
     * @param o       what to run
     * @param console where every rank's output goes, each line prefixed with its rank
     * @param limit   the bound on the whole job, or {@code null}
     * @return how the job ended
     */
    public static Result run(Options o, PrintStream console, Duration limit) {
        int port = o.masterPort() == 0 ? freePort() : o.masterPort();
        StoreSecret secret = jobSecret(o, System.getenv());
        String java = ProcessHandle.current().info().command().orElse("java");
        List<Process> procs = new ArrayList<>();
        List<Deque<String>> tails = new ArrayList<>();
        List<Thread> pumps = new ArrayList<>();
        // Ctrl-C or a kill of the launcher must not leave ranks holding GPUs.
        Thread reaper = new Thread(() -> procs.forEach(Process::destroyForcibly), "launch-reaper");
        Runtime.getRuntime().addShutdownHook(reaper);
        try {
            long deadline = limit == null ? 0 : System.nanoTime() + limit.toNanos();
            return watch(o, console, port, secret, java, procs, tails, pumps, limit, deadline);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(reaper);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running already
            }
        }
    }

    /** The secret of a one-node job is made here; the nodes of a larger one must share one the user sets. */
    static StoreSecret jobSecret(Options o, Map<String, String> env) {
        if (env.containsKey(StoreSecret.VARIABLE) || o.nnodes() > 1) {
            return StoreSecret.from(env);
        }
        return StoreSecret.generate();
    }

    private static Result watch(Options o, PrintStream console, int port, StoreSecret secret, String java,
            List<Process> procs, List<Deque<String>> tails, List<Thread> pumps, Duration limit, long deadline) {
        try {
            for (int local = 0; local < o.nproc(); local++) {
                int rank = o.nodeRank() * o.nproc() + local;
                List<String> cmd = new ArrayList<>();
                cmd.add(java);
                cmd.addAll(o.jvmArgs());
                cmd.add("-cp");
                cmd.add(System.getProperty("java.class.path"));
                cmd.add(o.mainClass());
                cmd.addAll(o.args());
                ProcessBuilder pb = new ProcessBuilder(cmd);
                Map<String, String> env = pb.environment();
                env.put("RANK", String.valueOf(rank));
                env.put("WORLD_SIZE", String.valueOf(o.nnodes() * o.nproc()));
                env.put("LOCAL_RANK", String.valueOf(local));
                env.put("LOCAL_WORLD_SIZE", String.valueOf(o.nproc()));
                env.put("MASTER_ADDR", o.masterAddr());
                env.put("MASTER_PORT", String.valueOf(port));
                env.put(StoreSecret.VARIABLE, secret.text());
                env.putIfAbsent("NCCL_NVLS_ENABLE", "0");
                env.putIfAbsent("NVSHMEM_DISABLE_NVLS", "1");
                pb.redirectErrorStream(true);
                Process p = pb.start();
                procs.add(p);
                Deque<String> tail = new ArrayDeque<>();
                tails.add(tail);
                pumps.add(pump(p.getInputStream(), "[rank " + rank + "] ", console, tail));
            }
            // Wait for the first failure, or for everyone.
            while (true) {
                boolean allDone = true;
                for (int i = 0; i < procs.size(); i++) {
                    Process p = procs.get(i);
                    if (p.isAlive()) {
                        allDone = false;
                    } else if (p.exitValue() != 0) {
                        int rank = o.nodeRank() * o.nproc() + i;
                        stopAll(procs, o.grace());
                        joinAll(pumps);
                        String msg;
                        synchronized (tails.get(i)) {
                            msg = String.join("\n", tails.get(i));
                        }
                        return new Result(p.exitValue(), rank, msg);
                    }
                }
                if (allDone) {
                    joinAll(pumps);
                    return new Result(0, -1, "");
                }
                if (limit != null && System.nanoTime() - deadline > 0) {
                    stopAll(procs, o.grace());
                    joinAll(pumps);
                    return new Result(124, -1, "the job ran past its limit of " + limit + " and was stopped");
                }
                Thread.sleep(50);
            }
        } catch (IOException e) {
            stopAll(procs, o.grace());
            return new Result(1, -1, "cannot start a rank: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopAll(procs, o.grace());
            return new Result(130, -1, "interrupted");
        }
    }

    private static Thread pump(InputStream in, String prefix, PrintStream console, Deque<String> tail) {
        return Thread.ofPlatform().daemon().name("launch-pump").start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    console.println(prefix + line);
                    synchronized (tail) {
                        tail.addLast(line);
                        if (tail.size() > 20) {
                            tail.removeFirst();
                        }
                    }
                }
            } catch (IOException ignored) {
                // the rank is gone
            }
        });
    }

    /** SIGTERM to every rank still running, then SIGKILL after the grace period. */
    private static void stopAll(List<Process> procs, Duration grace) {
        procs.forEach(Process::destroy);
        long deadline = System.nanoTime() + grace.toNanos();
        for (Process p : procs) {
            try {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !p.waitFor(left, TimeUnit.NANOSECONDS)) {
                    p.destroyForcibly().waitFor();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
            }
        }
    }

    private static void joinAll(List<Thread> threads) {
        for (Thread t : threads) {
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("no free port for the rendezvous store: " + e.getMessage(), e);
        }
    }
}
