package org.streamfusion.cpu;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import org.streamfusion.InvalidStateException;

/**
 * The platform threads of one world: its ranks' host threads and stream workers. Started with the world
 * (one host and three stream threads per rank, what one layer uses) and reused by every run and every layer,
 * so that a {@code forward} starts no thread; one more is started only when more work runs at once than
 * ever before (several layers open), and it too stays for reuse until the world closes. A thread takes
 * the name of the work it runs ({@code <prefix>rank0-compute}), for stack dumps, and every name starts with
 * the world's prefix (leak checks).
 */
final class WorkerThreads {
    /** Threads per rank started with the world: the host thread and a layer's compute, comm and ring streams. */
    static final int PER_RANK = 4;

    private record Task(String name, Runnable body, Runnable whenBack) {
    }

    private static final Task STOP = new Task("stop", () -> { }, () -> { });

    private final String prefix;
    private final ArrayDeque<Worker> idle = new ArrayDeque<>(); // guarded by this
    private final List<Worker> all = new ArrayList<>(); // guarded by this
    private boolean closed; // guarded by this

    WorkerThreads(String prefix, int ranks) {
        this.prefix = prefix;
        synchronized (this) {
            for (int i = 0; i < ranks * PER_RANK; i++) {
                idle.push(newWorker());
            }
        }
    }

    private Worker newWorker() {
        Worker w = new Worker(prefix + "idle" + (all.size() + 1));
        all.add(w);
        w.thread.start();
        return w;
    }

    /**
     * Runs {@code body} on an idle thread of this world (a new one when none is idle), named
     * {@code <prefix><name>} while it runs; {@code whenBack} runs after the thread is idle again, so that
     * whoever waits for it finds the thread free for the next call.
     */
    void start(String name, Runnable body, Runnable whenBack) {
        Worker w;
        synchronized (this) {
            if (closed) {
                throw new InvalidStateException("the world's threads are stopped (the world is closed)");
            }
            w = idle.isEmpty() ? newWorker() : idle.pop();
        }
        w.tasks.add(new Task(name, body, whenBack));
    }

    /** {@return threads started so far (tests: a forward starts none)} */
    synchronized int threadsStarted() {
        return all.size();
    }

    /** Ends every thread: idle ones at once, busy ones interrupted after {@code graceMillis}. */
    void close(long graceMillis) {
        List<Worker> workers;
        synchronized (this) {
            closed = true;
            workers = List.copyOf(all);
        }
        for (Worker w : workers) {
            w.tasks.add(STOP);
        }
        try {
            for (Worker w : workers) {
                w.thread.join(graceMillis);
                if (w.thread.isAlive()) {
                    w.thread.interrupt();
                    w.thread.join(graceMillis);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private final class Worker implements Runnable {
        private final LinkedBlockingQueue<Task> tasks = new LinkedBlockingQueue<>();
        private final Thread thread;
        private final String idleName;

        Worker(String idleName) {
            this.idleName = idleName;
            this.thread = Thread.ofPlatform().daemon().name(idleName).unstarted(this);
        }

        @Override
        public void run() {
            while (true) {
                Task task;
                try {
                    task = tasks.take();
                } catch (InterruptedException e) {
                    synchronized (WorkerThreads.this) {
                        if (closed) {
                            return;
                        }
                    }
                    continue; // a late interrupt meant for work this thread has finished
                }
                if (task == STOP) {
                    return;
                }
                thread.setName(prefix + task.name());
                try {
                    task.body().run();
                } catch (Throwable t) {
                    thread.getUncaughtExceptionHandler().uncaughtException(thread, t);
                } finally {
                    Thread.interrupted(); // an interrupt meant for this work ends with it
                    thread.setName(idleName);
                    synchronized (WorkerThreads.this) {
                        if (!closed) {
                            idle.push(this);
                        }
                    }
                    task.whenBack().run();
                }
            }
        }
    }
}
