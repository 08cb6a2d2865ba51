package org.streamfusion.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;
import org.streamfusion.CommunicationTimeoutException;
import org.streamfusion.RankFailedException;
import org.streamfusion.spi.StreamCapture;

/** The host side of a world's one capture, on the CPU: the leader's part, agreement, failures, replays, freeing. */
class WorldCaptureTest {
    /** The leader's device side, recording what it was asked: a graph is the list of rank joins it waited for. */
    static final class FakeOrigin implements WorldCapture.Origin<List<Object>> {
        final List<String> log = Collections.synchronizedList(new ArrayList<>());
        final List<Object> rejoined = new ArrayList<>();
        RuntimeException refuseBegin;
        RuntimeException refuseEnd;

        @Override
        public List<Object> capture(Runnable inside) {
            if (refuseBegin != null) {
                throw refuseBegin;
            }
            log.add("begin");
            try {
                inside.run();
            } catch (RuntimeException e) {
                log.add("abandon");
                throw refuseEnd != null ? refuseEnd : e;
            }
            log.add("end");
            if (refuseEnd != null) {
                throw refuseEnd;
            }
            return List.copyOf(rejoined);
        }

        @Override
        public Object fork() {
            log.add("fork");
            return "fork";
        }

        @Override
        public void rejoin(List<Object> joins) {
            rejoined.addAll(joins);
        }
    }

    static WorldCapture.Member member(int rank, List<String> log) {
        return new WorldCapture.Member() {
            @Override
            public void join(Object fork) {
                log.add(rank + " joins " + fork);
            }

            @Override
            public Object joined() {
                log.add(rank + " joined");
                return "join " + rank;
            }
        };
    }

    /** Every rank's capture on its own thread: each result, or the exception it threw. */
    static List<Object> onEveryRank(int n, IntFunction<Object> rank) throws InterruptedException {
        List<CompletableFuture<Object>> futures = new ArrayList<>();
        java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(n); // a thread each
        for (int r = 0; r < n; r++) {
            int me = r;
            futures.add(CompletableFuture.supplyAsync(() -> rank.apply(me), threads));
        }
        threads.shutdown();
        List<Object> out = new ArrayList<>();
        for (CompletableFuture<Object> f : futures) {
            try {
                out.add(f.get(30, TimeUnit.SECONDS));
            } catch (ExecutionException e) {
                out.add(e.getCause());
            } catch (java.util.concurrent.TimeoutException e) {
                throw new AssertionError("a rank did not return", e);
            }
        }
        return out;
    }

    @Test
    void everyRankJoinsTheLeadersCaptureRunsItsLayerAndGetsTheOneGraph() throws Exception {
        LocalFabric fabric = new LocalFabric(4, Duration.ofSeconds(10));
        FakeOrigin origin = new FakeOrigin();
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        List<Object> graphs = onEveryRank(4, r -> WorldCapture.capture(fabric, r, 1, r == 0 ? origin : null,
                member(r, log), () -> log.add(r + " layer")));
        for (int r = 0; r < 4; r++) {
            assertSame(graphs.get(0), graphs.get(r), "one graph for every rank");
            int join = log.indexOf(r + " joins fork");
            assertTrue(join >= 0 && join < log.indexOf(r + " layer") && log.indexOf(r + " layer") < log.indexOf(r
                    + " joined"), "rank " + r + " joins, enqueues, rejoins: " + log);
        }
        assertEquals(List.of("join 0", "join 1", "join 2", "join 3"), graphs.get(0), "the origin waited for every rank");
        assertEquals(List.of("begin", "fork", "end"), origin.log);
        assertEquals(List.of(), fabric.drain("world-capture/"), "the capture's boards are released");
    }

    @Test
    void aRefusedBeginningIsEveryRanksRefusalAndNoRankEnqueuesItsLayer() throws Exception {
        LocalFabric fabric = new LocalFabric(3, Duration.ofSeconds(10));
        FakeOrigin origin = new FakeOrigin();
        origin.refuseBegin = new StreamCapture.Refused("cudaStreamBeginCapture failed: cudaErrorStreamCaptureUnsupported",
                null);
        AtomicInteger layers = new AtomicInteger();
        List<Object> out = onEveryRank(3, r -> {
            try {
                return WorldCapture.capture(fabric, r, 7, r == 0 ? origin : null, member(r, new ArrayList<>()),
                        layers::incrementAndGet);
            } catch (StreamCapture.Refused e) {
                return e;
            }
        });
        for (Object o : out) {
            assertTrue(assertInstanceOf(StreamCapture.Refused.class, o).getMessage()
                    .contains("cudaErrorStreamCaptureUnsupported"), String.valueOf(o));
        }
        assertEquals(0, layers.get());
        assertTrue(!fabric.failed(), "a refusal is agreed, not a failure: the ranks replay eagerly");
    }

    @Test
    void aRefusedEndIsEveryRanksRefusalAfterEveryLayerWasEnqueued() throws Exception {
        LocalFabric fabric = new LocalFabric(2, Duration.ofSeconds(10));
        FakeOrigin origin = new FakeOrigin();
        origin.refuseEnd = new StreamCapture.Refused("cudaGraphInstantiate failed", null);
        AtomicInteger layers = new AtomicInteger();
        List<Object> out = onEveryRank(2, r -> {
            try {
                return WorldCapture.capture(fabric, r, 2, r == 0 ? origin : null, member(r, new ArrayList<>()),
                        layers::incrementAndGet);
            } catch (StreamCapture.Refused e) {
                return e;
            }
        });
        out.forEach(o -> assertInstanceOf(StreamCapture.Refused.class, o));
        assertEquals(2, layers.get());
        assertTrue(!fabric.failed());
        assertEquals(List.of(), fabric.drain("world-capture/"));
    }

    @Test
    void aRankWhoseLayerThrowsFailsTheWorldTheLeaderAbandonsAndNoPeerWaitsForItsTimeout() throws Exception {
        LocalFabric fabric = new LocalFabric(3, Duration.ofMinutes(5));
        FakeOrigin origin = new FakeOrigin();
        // the end refused as well (as CUDA refuses it after an error inside): the layer's error must still be the world's
        origin.refuseEnd = new StreamCapture.Refused("cudaStreamEndCapture failed: cudaErrorStreamCaptureInvalidated",
                null);
        long start = System.nanoTime();
        List<Object> out = onEveryRank(3, r -> {
            try {
                return WorldCapture.capture(fabric, r, 3, r == 0 ? origin : null, member(r, new ArrayList<>()), () -> {
                    if (r == 2) {
                        throw new IllegalStateException("cudaStreamWaitEvent failed: cudaErrorStreamCaptureIsolation");
                    }
                    if (r == 0) {
                        fabric.take("main", 2, 0, "a receive from rank 2", Object.class); // never sent
                    }
                });
            } catch (RuntimeException e) {
                return e;
            }
        });
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(20), "ended at the failure, not the timeout");
        assertEquals(2, fabric.failedRank());
        assertTrue(assertInstanceOf(IllegalStateException.class, out.get(2)).getMessage().contains("Isolation"));
        RankFailedException leader = assertInstanceOf(RankFailedException.class, out.get(0),
                "the leader's own wait ended, not the end's refusal");
        assertEquals(2, leader.failedRank());
        assertInstanceOf(RankFailedException.class, out.get(1));
        assertTrue(origin.log.contains("abandon"), origin.log.toString());
    }

    @Test
    void aRankThatNeverComesTimesOutNamingTheRankAndTheCapture() {
        LocalFabric fabric = new LocalFabric(2, Duration.ofMillis(300));
        CompletionException e = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class,
                () -> CompletableFuture.supplyAsync(() -> WorldCapture.capture(fabric, 1, 5, null,
                        member(1, new ArrayList<>()), () -> { })).join());
        CommunicationTimeoutException t = assertInstanceOf(CommunicationTimeoutException.class, e.getCause());
        assertEquals(1, t.rank());
        assertEquals("world capture 5", t.step());
        assertTrue(t.getMessage().contains("rank 0"), t.getMessage());
        assertTrue(fabric.failed(), "a rank whose wait failed fails the world");
    }

    @Test
    void theLeaderLaunchesEachReplayOnceAfterEveryRanksReadyAndEveryRankWaitsForItsDone() throws Exception {
        LocalFabric fabric = new LocalFabric(4, Duration.ofSeconds(10));
        List<List<Object>> launches = Collections.synchronizedList(new ArrayList<>());
        List<Object> dones = Collections.synchronizedList(new ArrayList<>());
        onEveryRank(4, r -> {
            for (long replay = 1; replay <= 3; replay++) {
                long k = replay;
                WorldCapture.replay(fabric, r, 9, k, "ready " + r, readies -> {
                    launches.add(readies);
                    return "done " + k;
                }, dones::add);
            }
            return null;
        });
        assertEquals(3, launches.size(), "one launch per replay");
        launches.forEach(l -> assertEquals(List.of("ready 0", "ready 1", "ready 2", "ready 3"), l));
        assertEquals(12, dones.size());
        assertEquals(List.of(), fabric.drain("world-graph/"), "the replays' boards are released");
    }

    @Test
    void theLastRankToReleaseAGraphFreesItOnce() {
        LocalFabric fabric = new LocalFabric(3, Duration.ofSeconds(10));
        fabric.put("world-graph/4", WorldCapture.LEADER, "graph");
        List<String> freed = new ArrayList<>();
        WorldCapture.release(fabric, 2, 4, String.class, freed::add);
        WorldCapture.release(fabric, 0, 4, String.class, freed::add);
        assertEquals(List.of(), freed, "two of three released: still in use");
        WorldCapture.release(fabric, 1, 4, String.class, freed::add);
        assertEquals(List.of("graph"), freed);
        assertEquals(List.of(), fabric.drain("world-graph/"), "the board is forgotten");
    }
}
