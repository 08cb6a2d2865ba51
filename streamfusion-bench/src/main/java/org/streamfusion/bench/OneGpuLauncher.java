package org.streamfusion.bench;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.streamfusion.InvalidConfigurationException;

/**
 * {@code streamfusion launch --one-gpu}: the ranks of a job as threads of this JVM, on one GPU, through an
 * in-process {@link org.streamfusion.gpu.CudaWorld} ({@link RankContext}). Each thread runs the streamfusion command;
 * its output lines are prefixed with its rank as the process launcher's are, and the exit code is the first
 * failed rank's.
 */
final class OneGpuLauncher {
    private static final int TAIL_LINES = 20;

    private OneGpuLauncher() {
    }

    static Launcher.Result run(Launcher.Options o, PrintStream console, Duration limit) {
        if (o.nnodes() != 1 || !o.mainClass().equals(Main.class.getName())) {
            throw new InvalidConfigurationException("--one-gpu with --nnodes " + o.nnodes() + " and " + o.mainClass(),
                    "an in-process world is one node running a streamfusion command");
        }
        int n = o.nproc();
        List<Deque<String>> tails = new ArrayList<>();
        for (int rank = 0; rank < n; rank++) {
            tails.add(new ArrayDeque<>());
        }
        int[] exits = new int[n];
        RankOutput out = new RankOutput(console, tails);
        PrintStream savedOut = System.out;
        PrintStream savedErr = System.err;
        List<Thread> ranks = new ArrayList<>();
        try (RankContext.Job job = new RankContext.Job(n)) {
            PrintStream prefixed = new PrintStream(out, true, StandardCharsets.UTF_8);
            System.setOut(prefixed);
            System.setErr(prefixed);
            for (int rank = 0; rank < n; rank++) {
                int r = rank;
                ranks.add(Thread.ofPlatform().name("launch-one-gpu-rank-" + rank).start(() -> {
                    RankOutput.RANK.set(r);
                    RankContext.enter(new RankContext.Member(r, job));
                    try {
                        exits[r] = Main.commandLine().execute(o.args().toArray(String[]::new));
                    } catch (RuntimeException | Error e) {
                        e.printStackTrace();
                        exits[r] = 1;
                    } finally {
                        RankContext.clear();
                        out.flushThread();
                    }
                }));
            }
            long deadline = limit == null ? Long.MAX_VALUE : System.nanoTime() + limit.toNanos();
            for (Thread t : ranks) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !t.join(Duration.ofNanos(Math.max(left, 1)))) {
                    return new Launcher.Result(124, -1, "the in-process job ran past its limit of " + limit);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Launcher.Result(130, -1, "interrupted");
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
        for (int rank = 0; rank < n; rank++) {
            if (exits[rank] != 0) {
                synchronized (tails.get(rank)) {
                    return new Launcher.Result(exits[rank], rank, String.join("\n", tails.get(rank)));
                }
            }
        }
        return new Launcher.Result(0, -1, "");
    }

    /** Standard output and error of the rank threads: each line to the console prefixed with its rank. */
    private static final class RankOutput extends OutputStream {
        static final ThreadLocal<Integer> RANK = new ThreadLocal<>();
        private final PrintStream console;
        private final List<Deque<String>> tails;
        private final ThreadLocal<ByteArrayOutputStream> line = ThreadLocal.withInitial(ByteArrayOutputStream::new);

        RankOutput(PrintStream console, List<Deque<String>> tails) {
            this.console = console;
            this.tails = tails;
        }

        @Override
        public void write(int b) {
            if (b == '\n') {
                emit();
            } else {
                line.get().write(b);
            }
        }

        void flushThread() {
            if (line.get().size() > 0) {
                emit();
            }
        }

        private void emit() {
            String text = line.get().toString(StandardCharsets.UTF_8);
            line.get().reset();
            Integer rank = RANK.get();
            console.println(rank == null ? text : "[rank " + rank + "] " + text);
            if (rank != null) {
                Deque<String> tail = tails.get(rank);
                synchronized (tail) {
                    tail.addLast(text);
                    if (tail.size() > TAIL_LINES) {
                        tail.removeFirst();
                    }
                }
            }
        }
    }
}
