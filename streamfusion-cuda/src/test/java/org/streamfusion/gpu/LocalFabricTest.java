package org.streamfusion.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.streamfusion.CommunicationTimeoutException;
import org.streamfusion.InvalidStateException;
import org.streamfusion.RankFailedException;

/** The host side of the in-process world, on the CPU: matching, ordering and the guards on every wait. */
class LocalFabricTest {
    @Test
    void sendsBetweenAPairAreTakenInTheOrderTheyWerePostedOnEachLane() {
        LocalFabric f = new LocalFabric(2, Duration.ofSeconds(5));
        f.post("main", 0, 1, "a");
        f.post("main", 0, 1, "b");
        f.post("ring", 0, 1, "c");
        f.post("main", 1, 0, "not for rank 1");
        assertEquals("c", f.take("ring", 0, 1, "ring pass", String.class));
        assertEquals("a", f.take("main", 0, 1, "all-to-all", String.class));
        assertEquals("b", f.take("main", 0, 1, "all-to-all", String.class));
        assertEquals("not for rank 1", f.take("main", 1, 0, "all-to-all", String.class));
    }

    @Test
    void aReceiveWithoutItsSendTimesOutNamingTheRankTheStepAndThePeer() {
        LocalFabric f = new LocalFabric(3, Duration.ofMillis(200));
        CommunicationTimeoutException e = assertThrows(CommunicationTimeoutException.class,
                () -> f.take("main", 2, 0, "torus step 3", String.class));
        assertEquals(0, e.rank());
        assertEquals("torus step 3", e.step());
        assertTrue(e.getMessage().contains("rank 2"), e.getMessage());
    }

    @Test
    void aFailedRankStopsEveryWaitingPeerAtOnce() throws Exception {
        LocalFabric f = new LocalFabric(3, Duration.ofMinutes(5));
        CompletableFuture<Object> waiting = CompletableFuture.supplyAsync(() -> f.take("main", 1, 0, "ring", Object.class));
        Thread.sleep(100);
        long start = System.nanoTime();
        f.fail(2, new IllegalStateException("kernel launch failed"));
        ExecutionException e = assertThrows(ExecutionException.class, () -> waiting.get(10, TimeUnit.SECONDS));
        RankFailedException cause = (RankFailedException) e.getCause();
        assertEquals(2, cause.failedRank());
        assertTrue(cause.getMessage().contains("kernel launch failed") && cause.getMessage().contains("'ring'"),
                cause.getMessage());
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5), "stopped within the poll, not the timeout");
        assertThrows(RankFailedException.class, () -> f.get("heap/0", 1, 0, "later", Object.class), "stays failed");
    }

    @Test
    void aWaitForARankThatClosedItsDeviceEndsAtOnceNamingIt() {
        LocalFabric f = new LocalFabric(2, Duration.ofMinutes(5));
        f.leave(1);
        RankFailedException e = assertThrows(RankFailedException.class, () -> f.take("main", 1, 0, "gather", Object.class));
        assertEquals(1, e.failedRank());
        assertTrue(e.getMessage().contains("rank 1, which closed its device"), e.getMessage());
    }

    @Test
    void aMeetingReturnsEveryMembersValueInMemberOrderOnceAllArrived() throws Exception {
        LocalFabric f = new LocalFabric(4, Duration.ofSeconds(10));
        int[] members = {3, 1};
        CompletableFuture<List<String>> three = CompletableFuture.supplyAsync(
                () -> f.meet("barrier/x/1", members, 3, "barrier", "from 3", String.class));
        Thread.sleep(100);
        assertTrue(!three.isDone(), "rank 3 waits for rank 1");
        List<String> one = f.meet("barrier/x/1", members, 1, "barrier", "from 1", String.class);
        assertEquals(List.of("from 3", "from 1"), one);
        assertEquals(List.of("from 3", "from 1"), three.get(10, TimeUnit.SECONDS));
    }

    @Test
    void aValuePostedTwiceUnderOneKeyIsRefused() {
        LocalFabric f = new LocalFabric(2, Duration.ofSeconds(1));
        f.put("heap/0", 0, "block");
        assertThrows(InvalidStateException.class, () -> f.put("heap/0", 0, "again"));
    }

    @Test
    void onlyTheLastRankToReleaseABlockGetsEveryRanksPartToFree() {
        LocalFabric f = new LocalFabric(3, Duration.ofSeconds(1));
        for (int rank = 0; rank < 3; rank++) {
            f.put("heap/7", rank, "part " + rank);
        }
        assertNull(f.release("heap/7", 2, 3));
        assertNull(f.release("heap/7", 0, 3));
        assertArrayEquals(new Object[] {"part 0", "part 1", "part 2"}, f.release("heap/7", 1, 3));
        assertTrue(f.drain("heap/").isEmpty(), "a released block is forgotten");
    }

    @Test
    void aWorldsCloseDrainsTheBlocksThatAFailedRankNeverReleased() {
        LocalFabric f = new LocalFabric(2, Duration.ofSeconds(1));
        f.put("heap/0", 0, "a");
        f.put("heap/0", 1, "b");
        f.put("barrier/w/1", 0, "event");
        assertNull(f.release("heap/0", 0, 2));
        assertEquals(List.of("a", "b"), f.drain("heap/"));
        assertTrue(f.drain("heap/").isEmpty());
    }
}
