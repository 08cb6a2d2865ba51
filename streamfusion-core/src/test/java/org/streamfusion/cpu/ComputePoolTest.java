package org.streamfusion.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The world's compute pool runs every part exactly once, whatever the number of parts, cores and concurrent
 * callers; a caller whose helpers are all busy with other ranks' parts finishes alone instead of waiting; a
 * failing part is rethrown only after the parts already running have ended.
 */
@Timeout(60)
class ComputePoolTest {
    private static final long LARGE = ComputePool.PARALLEL_WORK;

    @Test
    void everyPartRunsExactlyOnceForRandomPartCountsAndPoolSizes() {
        SplittableRandom rnd = new SplittableRandom(31);
        for (int trial = 0; trial < 200; trial++) {
            int threads = 1 + rnd.nextInt(5);
            int parts = rnd.nextInt(40);
            long work = rnd.nextBoolean() ? LARGE : LARGE - 1;
            ComputePool pool = new ComputePool("test-", threads);
            try {
                AtomicIntegerArray runs = new AtomicIntegerArray(parts + 1); // the last one catches a stray part
                AtomicInteger runners = new AtomicInteger();
                pool.forEach(parts, work, () -> {
                    runners.incrementAndGet();
                    return runs::incrementAndGet;
                });
                for (int i = 0; i <= parts; i++) {
                    assertEquals(i < parts ? 1 : 0, runs.get(i), "trial " + trial + ": part " + i + " of " + parts + " on " + threads
                            + " threads, work " + work);
                }
                assertTrue(runners.get() <= Math.min(Math.max(parts, 1), work < LARGE ? 1 : threads),
                        "trial " + trial + ": one runner per slice that ran a part, got " + runners.get());
            } finally {
                pool.close();
            }
        }
    }

    @Test
    void aCallerWhoseHelpersAreBusyRunsEveryPartItself() throws InterruptedException {
        ComputePool pool = new ComputePool("test-", 2);
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch allHeld = new CountDownLatch(4);
        try {
            // Two other ranks' calls hold their own threads and both pool threads (each call's two parts run at
            // once) until this rank's call has finished.
            Thread[] others = new Thread[2];
            AtomicInteger othersDone = new AtomicInteger();
            for (int t = 0; t < others.length; t++) {
                others[t] = Thread.ofPlatform().start(() -> {
                    pool.forEach(2, LARGE, () -> index -> {
                        allHeld.countDown();
                        try {
                            release.await(30, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    });
                    othersDone.incrementAndGet();
                });
            }
            assertTrue(allHeld.await(10, TimeUnit.SECONDS), "the other calls' four parts started");
            AtomicInteger mine = new AtomicInteger();
            Thread caller = Thread.currentThread();
            pool.forEach(8, LARGE, () -> index -> {
                assertSame(caller, Thread.currentThread(), "part " + index + " ran on a helper");
                mine.incrementAndGet();
            });
            assertEquals(8, mine.get(), "every part ran while the other calls held the helpers");
            release.countDown();
            for (Thread other : others) {
                assertTrue(other.join(Duration.ofSeconds(10)), "the other call ended once released");
            }
            assertEquals(2, othersDone.get(), "both other calls returned normally");
        } finally {
            release.countDown();
            pool.close();
        }
    }

    @Test
    void aFailingPartIsRethrownAfterTheRunningPartsEnd() {
        ComputePool pool = new ComputePool("test-", 3);
        try {
            AtomicInteger running = new AtomicInteger();
            CountDownLatch thrown = new CountDownLatch(1);
            IllegalStateException failure = new IllegalStateException("part 0 is adversarial");
            // Part 0 is claimed first; every other part that starts waits until part 0 has thrown, then runs on
            // for 50 ms, so a forEach that returned on the failure would find parts still running.
            IllegalStateException thrownOut = assertThrows(IllegalStateException.class,
                    () -> pool.forEach(12, LARGE, () -> index -> {
                        running.incrementAndGet();
                        try {
                            if (index == 0) {
                                thrown.countDown();
                                throw failure;
                            }
                            thrown.await(10, TimeUnit.SECONDS);
                            Thread.sleep(50);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        } finally {
                            running.decrementAndGet();
                        }
                    }));
            assertSame(failure, thrownOut, "the part's own exception");
            assertEquals(0, running.get(), "parts still running when forEach returned");
        } finally {
            pool.close();
        }
    }

    @Test
    void anErrorInAPartIsRethrownAsItIs() {
        ComputePool pool = new ComputePool("test-", 2);
        try {
            AssertionError error = new AssertionError("adversarial part");
            AssertionError thrown = assertThrows(AssertionError.class, () -> pool.forEach(4, LARGE, () -> index -> {
                if (index == 2) {
                    throw error;
                }
            }));
            assertSame(error, thrown, "not wrapped");
        } finally {
            pool.close();
        }
    }
}
