package org.streamfusion.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.Method;
import org.streamfusion.Topology;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.planning.Planner;

/**
 * Native memory is reused between arenas at exactly its size, never held free beyond what was once in use nor
 * beyond the limit, freed when the world closes, and a reused block is poisoned (NaN) again like fresh memory.
 */
class MemoryPoolTest {
    @Test
    void aBlockGivenBackIsTakenAgainAtItsSizeOnlyAndFreeBytesStayWithinThePeakInUse() {
        MemoryPool pool = new MemoryPool(1 << 20);
        MemoryPool.Block a = pool.take(4096);
        MemoryPool.Block b = pool.take(8192);
        pool.give(List.of(a, b), true);
        assertEquals(4096 + 8192, pool.freeBytes());
        assertSame(b, pool.take(8192), "the free block of that size");
        MemoryPool.Block c = pool.take(1024);
        assertFalse(c == a, "no block of another size");
        pool.give(List.of(b, c), true);
        assertTrue(pool.freeBytes() <= 4096 + 8192 + 1024, "free " + pool.freeBytes());
        pool.close();
        assertEquals(0, pool.freeBytes());
        assertFalse(a.arena().scope().isAlive(), "closed with the pool");
        assertThrows(IllegalStateException.class, () -> b.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
    }

    @Test
    void blocksNotReusableOrPastTheLimitAreFreedAtOnce() {
        MemoryPool pool = new MemoryPool(10_000);
        MemoryPool.Block a = pool.take(6000);
        pool.give(List.of(a), false);
        assertEquals(0, pool.freeBytes());
        assertFalse(a.arena().scope().isAlive(), "a block something may still touch is freed");
        MemoryPool.Block b = pool.take(6000);
        pool.give(List.of(b), true);
        MemoryPool.Block c = pool.take(5000); // 6000 free + 5000 new would pass 10,000: the free block goes
        assertFalse(b.arena().scope().isAlive(), "evicted to stay within the limit");
        assertEquals(0, pool.freeBytes());
        pool.give(List.of(c), true);
        pool.close();
    }

    @Test
    void consecutiveForwardsReuseTheWorldsMemoryPoisonEachReusedBufferAndGiveTheSameBits() {
        AttentionShape shape = AttentionShape.of(1, 64, 4, 16);
        Topology topology = Topology.of(2, 2);
        var plan = Planner.withDefaults().best(shape, topology, Method.TORUS_TWO_SIDED);
        float[][] x = new float[3][(int) shape.elements()];
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(3);
        for (float[] t : x) {
            for (int i = 0; i < t.length; i++) {
                t[i] = (float) rnd.nextDouble(-2, 2);
            }
        }
        MemoryPool pool;
        try (CpuWorld world = CpuWorld.create(topology)) {
            pool = world.memoryPool();
            float[] first = ShardedAttention.forward(world, plan, x[0], x[1], x[2]);
            long free = pool.freeBytes();
            assertNotEquals(0, free, "the first call's memory is kept");
            float[] second = ShardedAttention.forward(world, plan, x[0], x[1], x[2]);
            assertEquals(free, pool.freeBytes(), "the second call takes and gives back the same blocks");
            assertEquals(java.util.Arrays.toString(first), java.util.Arrays.toString(second));
            float[] poisoned = world.run(dev -> {
                Buffer written;
                try (DeviceArena arena = dev.newArena()) {
                    written = arena.allocate(16, DType.F32);
                    CpuBuffer.of(written).write(new float[16]);
                }
                try (DeviceArena arena = dev.newArena()) {
                    Buffer again = arena.allocate(16, DType.F32);
                    if (CpuBuffer.of(again).segment().address() != CpuBuffer.of(written).segment().address()) {
                        throw new AssertionError("the block was not reused");
                    }
                    return CpuBuffer.of(again).read();
                }
            }).get(0);
            for (float f : poisoned) {
                assertTrue(Float.isNaN(f), "a reused buffer reads NaN before anything writes it");
            }
        }
        assertEquals(0, pool.freeBytes(), "freed with the world");
    }
}
