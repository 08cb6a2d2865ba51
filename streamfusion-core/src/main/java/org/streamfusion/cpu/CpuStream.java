package org.streamfusion.cpu;

import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.streamfusion.RankFailedException;
import org.streamfusion.WrongBackendException;
import org.streamfusion.backend.Event;
import org.streamfusion.backend.Stream;
import org.streamfusion.spi.BackendStream;

/**
 * A stream of the CPU backend: one worker thread running its ops in order. An op that throws stops the
 * stream and fails the world, so that no peer waits for this rank until its timeout.
 */
final class CpuStream implements BackendStream {
    private record Op(String step, Runnable body) {
    }

    private static final Op STOP = new Op("stop", () -> { });

    private final CpuFabric fabric;
    private final int rank;
    private final String name;
    private final LinkedBlockingQueue<Op> queue = new LinkedBlockingQueue<>();
    private final Thread worker;
    private final SplittableRandom jitter;
    private volatile Throwable failed;
    /** Ops enqueued and not yet finished: zero means this stream will do nothing more until the host enqueues. */
    private final AtomicInteger pending = new AtomicInteger();

    CpuStream(CpuFabric fabric, int rank, String name, String threadPrefix, long seed) {
        this.fabric = fabric;
        this.rank = rank;
        this.name = name;
        this.jitter = fabric.options.jitter() && !name.equals("compute") ? new SplittableRandom(seed) : null;
        this.worker = Thread.ofPlatform().daemon().name(threadPrefix + "rank" + rank + "-" + name).unstarted(this::loop);
        worker.start();
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
                op.body().run();
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
        if (!worker.isAlive()) {
            throw new IllegalStateException("stream " + name + " of rank " + rank + " is closed");
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
        if (fabric.failure() != null) {
            pending.addAndGet(-queue.size());
            queue.clear();
            worker.interrupt();
        }
        queue.add(STOP);
        try {
            worker.join(timeoutMillis);
            if (worker.isAlive()) {
                worker.interrupt();
                worker.join(timeoutMillis);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    boolean isAlive() {
        return worker.isAlive();
    }

    static CpuStream of(Stream s) {
        return WrongBackendException.require(CpuStream.class, s, "stream");
    }
}
