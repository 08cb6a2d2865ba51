package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.RankDevice;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.cpu.CpuOptions;
import org.streamfusion.cpu.CpuRankDevice;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.planning.Planner;

/** Every rule of docs/algorithms.md, section 3, broken on purpose: a typed exception that names the value and the rule. */
class BadInputTest {
    private static final Topology TOPO = Topology.of(2, 2);

    @Test
    void headsNotDivisibleByTheUlyssesDegreeNameHAndU() {
        var e = assertThrows(InvalidConfigurationException.class,
                () -> Plan.of(AttentionShape.of(1, 16, 6, 16), DeviceMesh.of(TOPO, Method.ULYSSES, 1, 4, 1)));
        assertTrue(e.getMessage().contains("H=6") && e.getMessage().contains("u=4"), e.getMessage());
        assertEquals("H % u == 0", e.rule());
        var torus = assertThrows(InvalidConfigurationException.class,
                () -> Plan.of(AttentionShape.of(1, 16, 6, 16), DeviceMesh.of(TOPO, Method.STREAMFUSION, 2, 2, 1)));
        assertTrue(torus.getMessage().contains("t*u'=4"), torus.getMessage());
    }

    @Test
    void aSequenceShorterThanTheGpuCountNamesSAndNAndBadShardRowsNameTheirRule() {
        var e = assertThrows(InvalidConfigurationException.class,
                () -> Plan.of(AttentionShape.of(1, 3, 8, 16), DeviceMesh.of(TOPO, Method.RING, 1, 1, 4)));
        assertTrue(e.getMessage().contains("S=3") && e.getMessage().contains("N=4"), e.getMessage());
        assertEquals("S >= N: every GPU holds at least one token", e.rule());
        assertThrows(InvalidConfigurationException.class,
                () -> Planner.withDefaults().enumerate(AttentionShape.of(1, 3, 8, 16), TOPO));
        Plan ok = Plan.of(AttentionShape.of(1, 18, 8, 16), DeviceMesh.of(TOPO, Method.RING, 1, 1, 4));
        assertEquals(List.of(5, 5, 4, 4), java.util.stream.IntStream.range(0, 4).map(ok::shardRows).boxed().toList());
        assertEquals("the shard lengths sum to S",
                assertThrows(InvalidConfigurationException.class, () -> ok.withShardRows(5, 5, 5, 4)).rule());
        assertEquals("every GPU holds at least one token",
                assertThrows(InvalidConfigurationException.class, () -> ok.withShardRows(18, 0, 0, 0)).rule());
        assertEquals("one shard length per GPU",
                assertThrows(InvalidConfigurationException.class, () -> ok.withShardRows(9, 9)).rule());
    }

    @Test
    void aWorldOfFewerThanOneGpuIsRejectedByNameNotDividedBy() {
        AttentionShape shape = AttentionShape.of(1, 16, 4, 16);
        for (int n : new int[] {0, -1, -4}) {
            var e = assertThrows(InvalidConfigurationException.class, () -> shape.localSeqLen(n));
            assertTrue(e.getMessage().contains("N=" + n), e.getMessage());
            assertEquals("number of GPUs N > 0", e.rule());
            assertEquals("number of GPUs N > 0",
                    assertThrows(InvalidConfigurationException.class, () -> shape.shardRows(n, 0)).rule());
            assertEquals("number of GPUs N > 0",
                    assertThrows(InvalidConfigurationException.class, () -> shape.shardStart(n, 0)).rule());
        }
    }

    @Test
    void shardStartRefusesARankOutsideTheWorldWithTheCallersSplitAsWithTheDefaultOne() {
        Plan even = Plan.of(AttentionShape.of(1, 18, 8, 16), DeviceMesh.of(TOPO, Method.RING, 1, 1, 4));
        Plan ragged = even.withShardRows(1, 5, 9, 3);
        assertEquals(15, ragged.shardStart(3));
        for (Plan p : List.of(even, ragged)) {
            for (int rank : new int[] {-1, 4, 5}) {
                var e = assertThrows(InvalidConfigurationException.class, () -> p.shardStart(rank), p + " rank " + rank);
                assertTrue(e.getMessage().contains("rank " + rank + " outside the world of 4"), e.getMessage());
                assertEquals("0 <= rank < N", e.rule());
            }
        }
    }

    @Test
    void nonPositiveDimensionsAreRejectedByName() {
        assertEquals("heads H > 0", assertThrows(InvalidConfigurationException.class,
                () -> AttentionShape.of(1, 16, 0, 16)).rule());
        assertEquals("batch B > 0", assertThrows(InvalidConfigurationException.class,
                () -> AttentionShape.of(-1, 16, 4, 16)).rule());
        assertEquals("sequence length S > 0", assertThrows(InvalidConfigurationException.class,
                () -> AttentionShape.of(1, 0, 4, 16)).rule());
        assertEquals("head dim D > 0", assertThrows(InvalidConfigurationException.class,
                () -> AttentionShape.of(1, 16, 4, -64)).rule());
        assertEquals("machines M > 0", assertThrows(InvalidConfigurationException.class,
                () -> Topology.of(0, 8)).rule());
        assertEquals("ring degree r > 0", assertThrows(InvalidConfigurationException.class,
                () -> DeviceMesh.of(TOPO, Method.RING, 1, 1, 0)).rule());
        var e = assertThrows(InvalidConfigurationException.class, () -> AttentionShape.of(1, 16, 4, 0));
        assertTrue(e.getMessage().contains("D=0"), e.getMessage());
    }

    @Test
    void aMeshWhoseSizeDiffersFromTheWorldSizeIsRejected() {
        DeviceMesh eight = DeviceMesh.of(Topology.of(2, 4), Method.RING, 1, 1, 8);
        Plan plan = Plan.of(AttentionShape.of(1, 16, 8, 16), eight);
        try (CpuWorld w = CpuWorld.create(TOPO)) {
            var e = assertThrows(InvalidConfigurationException.class,
                    () -> DistributedAttention.create(plan, w.device(0)));
            assertTrue(e.getMessage().contains("8 GPUs") && e.getMessage().contains("world of size 4"), e.getMessage());
            assertEquals("mesh size == world size", e.rule());
        }
        var degrees = assertThrows(InvalidConfigurationException.class, () -> DeviceMesh.of(TOPO, Method.USP, 1, 2, 4));
        assertEquals("t*u*r == N", degrees.rule());
    }

    @Test
    void mismatchedQkvShapesNameTheTensorAndItsShape() {
        Plan plan = Plan.of(AttentionShape.of(1, 16, 8, 16), DeviceMesh.of(TOPO, Method.STREAMFUSION, 2, 2, 1));
        try (CpuWorld w = CpuWorld.create(TOPO, CpuOptions.defaults().withTimeout(Duration.ofSeconds(5)))) {
            List<String> messages = w.run(dev -> {
                try (DeviceArena io = dev.newArena(); DistributedAttention attn = DistributedAttention.create(plan, dev)) {
                    TensorView good = TensorView.contiguous(io.allocate(4 * 8 * 16, DType.F32), 1, 4, 8, 16);
                    TensorView fewHeads = TensorView.contiguous(io.allocate(4 * 4 * 16, DType.F32), 1, 4, 4, 16);
                    var e = assertThrows(InvalidConfigurationException.class,
                            () -> attn.forward(good, fewHeads, good, good));
                    return e.getMessage();
                }
            });
            for (String m : messages) {
                assertTrue(m.startsWith("k has shape [1, 4, 4, 16] but the plan needs [1, 4, 8, 16]"), m);
            }
        }
    }

    /**
     * Rank 2 drops the final BarrierAll and goes on to close its layer: its peers, waiting for it at that
     * barrier, see that it left the layer and stop at once, naming it and the step (before issue 10 they
     * waited for the timeout).
     */
    @Test
    void aRankThatNeverReachesTheFinalBarrierIsReportedNamingRankAndStepWithoutLeakingThreads() throws Exception {
        Duration timeout = Duration.ofMillis(1500);
        Plan plan = Plan.of(AttentionShape.of(1, 16, 8, 16), DeviceMesh.of(TOPO, Method.STREAMFUSION, 2, 1, 2));
        Inputs in = Inputs.fresh(plan.shape());
        String prefix;
        long start = System.nanoTime();
        RankFailedException e;
        try (CpuWorld w = CpuWorld.create(TOPO, CpuOptions.defaults().withTimeout(timeout))) {
            prefix = w.threadPrefix();
            e = assertThrows(RankFailedException.class, () -> w.run(dev -> {
                RankDevice d = dev.rank() == 2 ? skippingBarrierAll(dev, "step 6") : dev;
                try (DeviceArena io = d.newArena(); DistributedAttention attn = DistributedAttention.create(plan, d)) {
                    TensorView[] x = new TensorView[4];
                    for (int i = 0; i < 4; i++) {
                        Buffer b = io.allocate(4 * 8 * 16, DType.F32);
                        ((org.streamfusion.cpu.CpuBuffer) b).write(java.util.Arrays.copyOf(in.q, 4 * 8 * 16));
                        x[i] = TensorView.contiguous(b, 1, 4, 8, 16);
                    }
                    attn.forward(x[0], x[1], x[2], x[3]);
                    attn.stream().synchronize("forward");
                    return null;
                }
            }));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(e.getMessage().contains("at step 'SFU step 6 BarrierAll'"), e.getMessage());
        assertTrue(e.getMessage().contains("waits for rank 2, which left the layer"), e.getMessage());
        assertEquals(2, e.failedRank(), e.getMessage());
        assertTrue(seconds < timeout.toMillis() / 1000.0, "took " + seconds + " s, not less than the timeout");
        assertNoThreadsLeft(prefix);
    }

    static void assertNoThreadsLeft(String prefix) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        List<String> alive;
        do {
            alive = Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                    .filter(n -> n.startsWith(prefix)).toList();
            if (alive.isEmpty()) {
                return;
            }
            Thread.sleep(50);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("threads still alive: " + alive);
    }

    /** A faulty rank: its communicator silently drops the BarrierAll of one step. */
    private static RankDevice skippingBarrierAll(CpuRankDevice dev, String stepPart) {
        return new ForwardingCommunicator(dev.communicator()) {
            @Override
            public void barrierAll(Stream s, String step) {
                if (!step.contains(stepPart)) {
                    delegate.barrierAll(s, step);
                }
            }
        }.on(dev);
    }

    @Test
    void aTopologyIsReadFromMxGAndAnythingElseIsRefusedNamingTheText() {
        org.junit.jupiter.api.Assertions.assertEquals(Topology.of(2, 4), Topology.parse(" 2X4 "));
        for (String bad : new String[] {"2x", "x4", "2x4x1", "two x 4", "2*4", "", "0x4"}) {
            InvalidConfigurationException e = org.junit.jupiter.api.Assertions.assertThrows(
                    InvalidConfigurationException.class, () -> Topology.parse(bad), bad);
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains(bad.equals("0x4") ? "M=0" : "'" + bad + "'"),
                    bad + ": " + e.getMessage());
        }
        org.junit.jupiter.api.Assertions.assertThrows(InvalidConfigurationException.class, () -> Topology.parse(null));
    }
}
