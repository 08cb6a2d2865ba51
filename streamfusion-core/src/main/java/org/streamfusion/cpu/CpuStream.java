package org.streamfusion.cpu;

import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.streamfusion.InvalidStateException;
import org.streamfusion.RankFailedException;
import org.streamfusion.WrongBackendException;
import org.streamfusion.backend.Event;
import org.streamfusion.backend.Stream;
import org.streamfusion.spi.BackendStream;

/**
 * A stream of the CPU backend: one of the world's worker threads running its ops in order, from creation
 * to {@link #close}. An op that throws stops the stream and fails the world, so that no peer waits for
 * this rank until its timeout.
 */
final class CpuStream implements BackendStream {
    private record Op(String step, Runnable body) {
    }

    private static final Op STOP = new Op("stop", () -> { });

    private final CpuFabric fabric;
    private final int rank;
    private final String name;
    private final LinkedBlockingQueue<Op> queue = new LinkedBlockingQueue<>();
    /** The thread running this stream's loop while it runs (guarded by this). */
    private Thread worker;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean closing;
    private final SplittableRandom jitter;
    private volatile Throwable failed;
    /** Ops enqueued and not yet finished: zero means this stream will do nothing more until the host enqueues. */
    private final AtomicInteger pending = new AtomicInteger();

    CpuStream(CpuFabric fabric, int rank, String name, WorkerThreads threads, long seed) {
        this.fabric = fabric;
        this.rank = rank;
        this.name = name;
        this.jitter = fabric.options.jitter() && !name.equals("compute") ? new SplittableRandom(seed) : null;
        threads.start("rank" + rank + "-" + name, this::run, stopped::countDown);
    }

    private void run() {
        synchronized (this) {
            worker = Thread.currentThread();
        }
        try {
            loop();
        } finally {
            synchronized (this) {
                worker = null;
            }
            Thread.interrupted(); // an interrupt meant for this stream stays with it, not the thread's next work
        }
    }

    private void loop() {
        while (true) {
            Op op;
            try {
                op = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            if (op == STOP) {
                return;
            }
            if (failed != null) {
                pending.decrementAndGet();
                continue;
            }
            try {
                if (jitter != null) {
                    LockSupport.parkNanos(jitter.nextLong(50_000));
                }
                CpuOpEvent event = new CpuOpEvent();
                event.begin();
                op.body().run();
                if (event.shouldCommit()) {
                    event.rank = rank;
                    event.stream = name;
                    event.step = op.step();
                    event.commit();
                }
            } catch (Throwable t) {
                failed = t;
                fabric.fail(rank, t);
                fabric.signalAll();
            } finally {
                pending.decrementAndGet();
            }
        }
    }

    void enqueue(String step, Runnable body) {
        if (closing) {
            throw new InvalidStateException("stream " + name + " of rank " + rank + " is closed");
        }
        pending.incrementAndGet();
        queue.add(new Op(step, body));
    }

    /** Whether every op enqueued so far has finished. */
    boolean idle() {
        return pending.get() == 0;
    }

    @Override
    public String name() {
        return name;
    }

    int rank() {
        return rank;
    }

    @Override
    public void record(Event event, String step) {
        CpuEvent e = CpuEvent.of(event);
        CountDownLatch reached = new CountDownLatch(1);
        e.set(new CpuEvent.Mark(reached, step, name));
        enqueue(step, reached::countDown);
    }

    @Override
    public void waitFor(Event event) {
        CpuEvent.Mark m = CpuEvent.of(event).latest();
        if (m == null) {
            return; // as cudaStreamWaitEvent on an event never recorded
        }
        enqueue("wait " + m.step(), () -> fabric.awaitLocal(m.reached(), rank, m.step(),
                "stream " + name + " waiting for an event recorded on stream " + m.stream()));
    }

    @Override
    public void synchronize(String step) {
        CountDownLatch drained = new CountDownLatch(1);
        enqueue(step, drained::countDown);
        try {
            fabric.awaitLocal(drained, rank, step, "host waiting for stream " + name);
        } catch (RuntimeException e) {
            if (failed != null) {
                throw new RankFailedException(rank, "stream " + name + " of rank " + rank + " failed: " + failed.getMessage(), failed);
            }
            throw e;
        }
        if (failed != null) {
            throw new RankFailedException(rank, "stream " + name + " of rank " + rank + " failed: " + failed.getMessage(), failed);
        }
    }

    /** Stops the worker after the ops already queued (or at once, when the world has failed). */
    void close(long timeoutMillis) {
        closing = true;
        if (fabric.failure() != null) {
            pending.addAndGet(-queue.size());
            queue.clear();
            interrupt();
        }
        queue.add(STOP);
        try {
            if (!stopped.await(timeoutMillis, TimeUnit.MILLISECONDS)) {
                interrupt();
                stopped.await(timeoutMillis, TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private synchronized void interrupt() {
        if (worker != null) {
            worker.interrupt();
        }
    }

    boolean isAlive() {
        return stopped.getCount() > 0;
    }

    static CpuStream of(Stream s) {
        return WrongBackendException.require(CpuStream.class, s, "stream");
    }
}
