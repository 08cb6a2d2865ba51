package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.cpu.CpuOptions;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cpu.ShardedAttention;

/**
 * Issue 10, hangs, crashes and unclear errors, each as a user would meet it through the public API: checked
 * before any collective step, reported with the value and the rule, and a world that is not broken by it.
 */
class MisuseTest {
    private static final Topology TOPOLOGY = Topology.of(2, 2);
    private static final AttentionShape SHAPE = AttentionShape.of(1, 8, 4, 16);
    private static final Plan RING = Plan.of(SHAPE, DeviceMesh.of(TOPOLOGY, Method.RING, 1, 1, 4));

    @Test
    void forwardRejectsArraysLongerThanTheShapeInsteadOfPaddingTheOutput() {
        Inputs in = new Inputs(SHAPE, 1);
        try (CpuWorld world = CpuWorld.create(TOPOLOGY)) {
            float[] longer = Arrays.copyOf(in.q, in.q.length + 16);
            var e = assertThrows(InvalidConfigurationException.class,
                    () -> ShardedAttention.forward(world, RING, longer, in.k, in.v));
            assertTrue(e.getMessage().contains("q holds " + longer.length + " values") && e.getMessage().contains("512"),
                    e.getMessage());
            assertEquals("q, k and v hold exactly B*S*H*D values", e.rule());
            assertWorks(world, in);
        }
    }

    @Test
    void forwardRejectsArraysShorterThanTheShapeAtOnceNotAfterABarrierTimeout() {
        Inputs in = new Inputs(SHAPE, 2);
        try (CpuWorld world = CpuWorld.create(TOPOLOGY)) {
            long start = System.nanoTime();
            var e = assertThrows(InvalidConfigurationException.class,
                    () -> ShardedAttention.forward(world, RING, in.q, Arrays.copyOf(in.k, 100), in.v));
            double seconds = (System.nanoTime() - start) / 1e9;
            assertTrue(e.getMessage().startsWith("k holds 100 values"), e.getMessage());
            assertTrue(seconds < 2, "short arrays took " + seconds + " s to report");
            assertWorks(world, in);
        }
    }

    @Test
    void nullTensorsAreNullPointerExceptionsNamingTheArgumentOnTheCallersThread() {
        Inputs in = new Inputs(SHAPE, 3);
        try (CpuWorld world = CpuWorld.create(TOPOLOGY)) {
            var e = assertThrows(NullPointerException.class, () -> ShardedAttention.forward(world, RING, null, in.k, in.v));
            assertEquals("q", e.getMessage());
            assertTrue(Arrays.stream(e.getStackTrace()).anyMatch(f -> f.getMethodName().contains("nullTensors")),
                    "thrown on the caller's thread");
            assertEquals("v", assertThrows(NullPointerException.class,
                    () -> ShardedAttention.forward(world, RING, in.q, in.k, null)).getMessage());
            assertEquals("plan", assertThrows(NullPointerException.class,
                    () -> DistributedAttention.create(null, world.device(0))).getMessage());
            assertEquals("topology", assertThrows(NullPointerException.class, () -> CpuWorld.create(null)).getMessage());
            assertWorks(world, in);
        }
    }

    @Test
    void topologyWhoseWorldSizeOverflowsAnIntIsRejected() {
        for (int[] mg : new int[][] {{65536, 65536}, {46341, 46341}}) {
            var e = assertThrows(InvalidConfigurationException.class, () -> Topology.of(mg[0], mg[1]),
                    mg[0] + "x" + mg[1] + " must not give a world size of " + mg[0] * mg[1]);
            assertEquals("M*G <= 2^31-1", e.rule());
            assertTrue(e.getMessage().contains(Long.toString((long) mg[0] * mg[1])), e.getMessage());
        }
        assertEquals(46340 * 46340, Topology.of(46340, 46340).worldSize());
    }

    @Test
    void shapesBeyondLongElementsAndShardsBeyondAnArrayAreRejected() {
        var tooMany = assertThrows(InvalidConfigurationException.class,
                () -> AttentionShape.of(1 << 30, 1 << 30, 1 << 30, 64));
        assertEquals("B*S*H*D <= 2^63-1", tooMany.rule());
        AttentionShape huge = AttentionShape.of(1, 1 << 20, 64, 64); // 2^32 elements
        var shard = assertThrows(InvalidConfigurationException.class,
                () -> ShardedAttention.shard(new float[16], huge, 1, 0));
        assertTrue(shard.getMessage().contains("4294967296 elements exceed a Java array"), shard.getMessage());
        try (CpuWorld world = CpuWorld.create(Topology.of(1, 1))) {
            Plan plan = Plan.of(huge, DeviceMesh.of(Topology.of(1, 1), Method.ULYSSES, 1, 1, 1));
            assertThrows(InvalidConfigurationException.class,
                    () -> ShardedAttention.forward(world, plan, new float[16], new float[16], new float[16]));
        }
    }

    /** The 2^32-element shape that took the host to 24 GB: refused with the bytes, before anything is allocated. */
    @Test
    void aLayerBeyondTheWorldsMemoryFailsBeforeAllocatingNamingBytesNeededAndAvailable() {
        AttentionShape huge = AttentionShape.of(1, 1 << 20, 64, 64);
        Plan plan = Plan.of(huge, DeviceMesh.of(TOPOLOGY, Method.ULYSSES, 1, 4, 1));
        long limit = 64L << 20;
        try (CpuWorld world = CpuWorld.create(TOPOLOGY, CpuOptions.defaults().withMemoryLimit(limit))) {
            long start = System.nanoTime();
            var e = assertThrows(InvalidConfigurationException.class, () -> world.run(dev -> {
                try (DistributedAttention attention = DistributedAttention.create(plan, dev)) {
                    return attention.plan();
                }
            }));
            assertTrue(e.getMessage().contains("needs 4294967296 bytes") && e.getMessage().contains("available"),
                    e.getMessage());
            assertEquals("bytes held by one CPU world <= CpuOptions.memoryLimit", e.rule());
            assertTrue((System.nanoTime() - start) / 1e9 < 10, "reported within 10 s");
            Runtime rt = Runtime.getRuntime();
            assertTrue(rt.totalMemory() - rt.freeMemory() < rt.maxMemory(), "heap intact");
        }
        Inputs small = new Inputs(SHAPE, 4);
        try (CpuWorld world = CpuWorld.create(TOPOLOGY, CpuOptions.defaults().withMemoryLimit(4096))) {
            var e = assertThrows(InvalidConfigurationException.class,
                    () -> ShardedAttention.forward(world, RING, small.q, small.k, small.v));
            assertTrue(e.getMessage().contains("needs 8192 bytes but the world has 4096"), e.getMessage());
        }
    }

    @Test
    void anExceptionOnARankReachesTheCallerAsTheOriginalTypeWithTheCallersFrames() {
        IllegalStateException original = new IllegalStateException("rank 1 cannot go on");
        try (CpuWorld world = CpuWorld.create(TOPOLOGY, CpuOptions.defaults().withTimeout(Duration.ofSeconds(30)))) {
            long start = System.nanoTime();
            var e = assertThrows(IllegalStateException.class, () -> world.run(dev -> {
                if (dev.rank() == 1) {
                    throw original;
                }
                try (DistributedAttention attention = DistributedAttention.create(RING, dev)) {
                    return attention.plan(); // the peers wait for rank 1 in the collective allocation
                }
            }));
            assertSame(original, e);
            assertTrue((System.nanoTime() - start) / 1e9 < 5, "the peers stopped at once, not after a timeout");
            Throwable callerFrames = Arrays.stream(e.getSuppressed()).filter(s -> s instanceof StreamFusionException)
                    .findFirst().orElseThrow(() -> new AssertionError("no caller frames in " + Arrays.toString(e.getSuppressed())));
            assertTrue(callerFrames.getMessage().contains("rethrown to the caller of CpuWorld.run"), callerFrames.getMessage());
            assertTrue(Arrays.stream(callerFrames.getStackTrace())
                    .anyMatch(f -> f.getMethodName().startsWith("anExceptionOnARank")), "the caller's frames");
        }
    }

    /** A rank that throws inside its layer (arrays too short for its own buffer) while its peers are mid-layer. */
    @Test
    void aRankThatThrowsMidLayerStopsItsPeersAtOnceNotAfterTheTimeout() throws Exception {
        Inputs in = new Inputs(SHAPE, 7);
        int local = Math.toIntExact(SHAPE.elements() / 4);
        for (Plan plan : new Plan[] {RING, Plan.of(SHAPE, DeviceMesh.of(TOPOLOGY, Method.STREAMFUSION, 2, 2, 1))}) {
            String prefix;
            long start = System.nanoTime();
            try (CpuWorld world = CpuWorld.create(TOPOLOGY, CpuOptions.defaults().withTimeout(Duration.ofSeconds(60)))) {
                prefix = world.threadPrefix();
                var e = assertThrows(InvalidArgumentException.class, () -> world.run(dev -> {
                    try (DeviceArena io = dev.newArena(); DistributedAttention attention = DistributedAttention.create(plan, dev)) {
                        org.streamfusion.backend.TensorView[] x = new org.streamfusion.backend.TensorView[4];
                        for (int i = 0; i < 4; i++) {
                            var b = (org.streamfusion.cpu.CpuBuffer) io.allocate(local, DType.F32);
                            // rank 1's input is too short for its buffer: CpuBuffer.write throws on that rank only
                            b.write(Arrays.copyOf(in.q, dev.rank() == 1 && i == 1 ? local - 1 : local));
                            x[i] = org.streamfusion.backend.TensorView.contiguous(b, 1, 2, 4, 16);
                        }
                        attention.forward(x[0], x[1], x[2], x[3]);
                        attention.stream().synchronize("forward");
                        return null;
                    }
                }));
                assertTrue(e.getMessage().contains((local - 1) + " values for a buffer of " + local), plan.mesh() + ": " + e);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            assertTrue(seconds < 10, plan.mesh() + ": the peers stopped after " + seconds + " s, not at once");
            BadInputTest.assertNoThreadsLeft(prefix);
        }
    }

    @Test
    void aFailedWorldSaysSoOnceThenNamesTheEarlierFailureAndStaysClosable() throws Exception {
        String prefix;
        ArithmeticException original = new ArithmeticException("rank 2 divided by zero");
        try (CpuWorld world = CpuWorld.create(TOPOLOGY)) {
            prefix = world.threadPrefix();
            assertSame(original, assertThrows(ArithmeticException.class, () -> world.run(dev -> {
                if (dev.rank() == 2) {
                    throw original;
                }
                return null;
            })));
            assertTrue(world.failed());
            Inputs in = new Inputs(SHAPE, 5);
            for (int call = 0; call < 2; call++) {
                var later = assertThrows(InvalidStateException.class,
                        () -> ShardedAttention.forward(world, RING, in.q, in.k, in.v));
                assertTrue(later.getMessage().contains("failed in an earlier run: rank 2 threw "
                        + "java.lang.ArithmeticException: rank 2 divided by zero"), later.getMessage());
                assertTrue(later.getMessage().contains("a failed world stays failed"), later.getMessage());
                assertSame(original, later.getCause());
            }
        }
        BadInputTest.assertNoThreadsLeft(prefix);
    }

    @Test
    void runFromASecondThreadWhileARunIsInProgressIsRejectedNamingTheRuleAndTheWorldGoesOn() throws Exception {
        Inputs in = new Inputs(SHAPE, 6);
        try (CpuWorld world = CpuWorld.create(TOPOLOGY)) {
            CountDownLatch inside = new CountDownLatch(4);
            CountDownLatch release = new CountDownLatch(1);
            AtomicReference<Throwable> firstRun = new AtomicReference<>();
            Thread first = Thread.ofPlatform().name("first-caller").start(() -> {
                try {
                    world.run(dev -> {
                        inside.countDown();
                        try {
                            return release.await(30, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            throw new IllegalStateException(e);
                        }
                    });
                } catch (Throwable t) {
                    firstRun.set(t);
                }
            });
            assertTrue(inside.await(30, TimeUnit.SECONDS), "the first run started");
            var e = assertThrows(InvalidStateException.class,
                    () -> ShardedAttention.forward(world, RING, in.q, in.k, in.v));
            assertTrue(e.getMessage().contains("one run at a time per world") && e.getMessage().contains("'first-caller'"),
                    e.getMessage());
            assertThrows(InvalidStateException.class, world::close, "close while another thread runs");
            release.countDown();
            first.join(30_000);
            assertEquals(null, firstRun.get(), "the first run was not disturbed");
            assertTrue(!world.failed(), "the world is not broken");
            assertWorks(world, in);
        }
    }

    private static void assertWorks(CpuWorld world, Inputs in) {
        float[] out = ShardedAttention.forward(world, RING, in.q, in.k, in.v);
        double[] ref = ReferenceAttention.attention(in.q, in.k, in.v, SHAPE.batch(), SHAPE.seqLen(), SHAPE.heads(),
                SHAPE.headDim(), SHAPE.softmaxScale());
        double error = ReferenceAttention.relativeError(out, ref);
        assertTrue(error < 1e-5, "the world still computes attention after the rejected call: error " + error);
    }
}
