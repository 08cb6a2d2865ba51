package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ShardedAttention;

/**
 * Issue 10, memory: a long-lived world is flat. Many {@code forward} calls on one world (each builds a layer,
 * runs it and closes it) leave heap after GC and the live thread count within 5% of where they were after a
 * warm-up. The run is bounded by time so that it fits the CPU suite: {@code -Dstreamfusion.growth.seconds}
 * (default 40) and {@code -Dstreamfusion.growth.calls} (default 100000, the figure), whichever ends
 * first; the report prints the calls made and the growth per call.
 */
class LongLivedWorldTest {
    private static final Topology TOPOLOGY = Topology.of(2, 2);
    private static final AttentionShape SHAPE = AttentionShape.of(1, 8, 4, 16);
    private static final int WARM_UP = 300;

    @Test
    void manyForwardCallsOnOneWorldLeaveHeapAndThreadsFlatWithinFivePercent() throws Exception {
        long seconds = Long.getLong("streamfusion.growth.seconds", 40);
        long maxCalls = Long.getLong("streamfusion.growth.calls", 100_000);
        Plan[] plans = {
            Plan.of(SHAPE, DeviceMesh.of(TOPOLOGY, Method.STREAMFUSION, 2, 2, 1)),
            Plan.of(SHAPE, DeviceMesh.of(TOPOLOGY, Method.USP, 1, 2, 2))};
        Inputs in = new Inputs(SHAPE, 11);
        try (CpuWorld world = CpuWorld.create(TOPOLOGY)) {
            for (int i = 0; i < WARM_UP; i++) {
                ShardedAttention.forward(world, plans[i % 2], in.q, in.k, in.v);
            }
            long heapBefore = heapAfterGc();
            int threadsBefore = liveThreads();
            long calls = 0;
            long deadline = System.nanoTime() + seconds * 1_000_000_000L;
            while (calls < maxCalls && System.nanoTime() < deadline) {
                ShardedAttention.forward(world, plans[(int) (calls % 2)], in.q, in.k, in.v);
                calls++;
            }
            long heapAfter = heapAfterGc();
            int threadsAfter = liveThreads();
            double perCall = (double) (heapAfter - heapBefore) / calls;
            String report = calls + " forward calls in at most " + seconds + " s: heap after GC " + heapBefore + " -> "
                    + heapAfter + " bytes (" + String.format("%.1f", perCall) + " bytes per call), live threads "
                    + threadsBefore + " -> " + threadsAfter;
            System.out.println("LongLivedWorldTest: " + report);
            assertTrue(heapAfter <= heapBefore * 1.05, "heap grew more than 5%: " + report);
            assertTrue(threadsAfter <= threadsBefore * 1.05, "threads grew more than 5%: " + report);
            for (int r = 0; r < TOPOLOGY.worldSize(); r++) {
                assertEquals(0, world.device(r).openArenas(), "rank " + r + " keeps arenas: " + report);
            }
        }
    }

    private static long heapAfterGc() throws InterruptedException {
        Runtime rt = Runtime.getRuntime();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 4; i++) {
            System.gc();
            Thread.sleep(100);
            used = Math.min(used, rt.totalMemory() - rt.freeMemory());
        }
        return used;
    }

    private static int liveThreads() throws InterruptedException {
        Thread.sleep(100); // the last call's stream workers end just after its close returns
        return (int) Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).count();
    }
}
