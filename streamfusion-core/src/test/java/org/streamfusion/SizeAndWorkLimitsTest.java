package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.streamfusion.cpu.CpuOptions;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cpu.ShardedAttention;
import org.streamfusion.planning.Planner;
import org.streamfusion.sim.HardwareProfile;

/**
 * Sizes at and past 2^31 - 1, clusters of 100,000 machines and timeouts of Long.MAX_VALUE: each is either
 * computed without wrapping or refused, quickly, with the value and the rule.
 */
class SizeAndWorkLimitsTest {
    private static final int MAX = Integer.MAX_VALUE;

    @Test
    void aSequenceOf2To31Minus1TokensSplitsWithoutWrapping() {
        AttentionShape shape = AttentionShape.of(1, MAX, 1, 1);
        for (int n : new int[] {1, 2, 3, 4, 7, 8, 1 << 20, MAX}) {
            long rows = 0;
            int longest = shape.localSeqLen(n);
            assertEquals((MAX + (long) n - 1) / n, longest, "N=" + n);
            for (int rank : new int[] {0, n / 2, n - 1}) {
                assertTrue(shape.shardStart(n, rank) >= 0 && shape.shardRows(n, rank) <= longest, "N=" + n + " rank " + rank);
            }
            for (int rank = 0; rank < Math.min(n, 8); rank++) {
                rows += shape.shardRows(n, rank);
            }
            assertTrue(rows > 0, "N=" + n);
        }
        for (Planner.Candidate c : Planner.withDefaults().enumerate(shape, Topology.of(1, 4))) {
            if (c.valid()) {
                assertTrue(c.intraBytes() > 0 && c.interBytes() >= 0, c.toString());
                assertTrue(c.seconds() > 0 && Double.isFinite(c.seconds()), c.toString());
            }
        }
    }

    @Test
    void sizesPastALongOrAnIntAreRefusedWithValueAndRule() {
        var elements = assertThrows(InvalidConfigurationException.class, () -> AttentionShape.of(MAX, MAX, MAX, MAX));
        assertTrue(elements.getMessage().contains("does not fit a long (rule: B*S*H*D <= 2^63-1)"), elements.getMessage());
        var world = assertThrows(InvalidConfigurationException.class, () -> Topology.of(100_000, 100_000));
        assertTrue(world.getMessage().contains("does not fit an int"), world.getMessage());
        var shorter = assertThrows(InvalidConfigurationException.class, () -> AttentionShape.of(1, 5, 1, 1).localSeqLen(8));
        assertTrue(shorter.rule().startsWith("S >= N"), shorter.getMessage());
    }

    @Test
    void rankingAHundredThousandMachinesIsRefusedBeforeItStarts() {
        Topology huge = Topology.of(100_000, 8);
        AttentionShape shape = AttentionShape.of(1, MAX, 8, 128);
        long start = System.nanoTime();
        var closed = assertThrows(InvalidConfigurationException.class, () -> Planner.withDefaults().enumerate(shape, huge));
        assertTrue(closed.getMessage().startsWith("ranking every mesh of 100000x8 by simulation needs about "),
                closed.getMessage());
        assertTrue(closed.rule().contains("-D" + WorkLimits.SIMULATOR_STEPS + "=N"), closed.rule());
        var simulated = assertThrows(InvalidConfigurationException.class,
                () -> Planner.withDefaults().enumerate(AttentionShape.of(1, 65536, 24, 128), Topology.of(128, 8)));
        assertTrue(simulated.getMessage().startsWith("ranking every mesh of 128x8 by simulation needs about 1.60e+07"
                + " rank-steps"), simulated.getMessage());
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(seconds < 10, "refused after " + seconds + " s");
        var reference = assertThrows(InvalidConfigurationException.class,
                () -> ReferenceAttention.requireFeasible(1, 100_000, 100_000, 24, 128, 0));
        assertTrue(reference.getMessage().contains("needs about 1.23e+14 flops"), reference.getMessage());
        var heap = assertThrows(InvalidConfigurationException.class,
                () -> ReferenceAttention.requireFeasible(1, 1, 1, 1, 1, Long.MAX_VALUE / 2));
        assertTrue(heap.rule().contains("maximum heap"), heap.getMessage());
    }

    @Test
    void aWorkLimitIsRaisedOrLoweredByItsSystemProperty() {
        AttentionShape shape = AttentionShape.of(1, 64, 8, 16);
        Topology topology = Topology.of(2, 2);
        String before = System.getProperty(WorkLimits.SIMULATOR_STEPS);
        try {
            System.setProperty(WorkLimits.SIMULATOR_STEPS, "10");
            var e = assertThrows(InvalidConfigurationException.class, () -> Planner.withDefaults().enumerate(shape, topology));
            assertTrue(e.rule().startsWith("at most 10.0 rank-steps"), e.getMessage());
            System.setProperty(WorkLimits.SIMULATOR_STEPS, "many");
            var bad = assertThrows(InvalidConfigurationException.class, () -> Planner.withDefaults().enumerate(shape, topology));
            assertEquals(WorkLimits.SIMULATOR_STEPS + "=many (rule: " + WorkLimits.SIMULATOR_STEPS + " is a positive number)",
                    bad.getMessage());
        } finally {
            if (before == null) {
                System.clearProperty(WorkLimits.SIMULATOR_STEPS);
            } else {
                System.setProperty(WorkLimits.SIMULATOR_STEPS, before);
            }
        }
        assertTrue(!Planner.withDefaults().enumerate(shape, topology).isEmpty());
    }

    @Test
    void extremeTimeoutsAreRefusedAndTheLongestAllowedOneRunsWithoutWrapping() {
        for (Duration d : List.of(Duration.ofMillis(Long.MAX_VALUE / 3), Duration.ofSeconds(Long.MAX_VALUE), Duration.ZERO,
                Duration.ofNanos(-1), Duration.ofDays(7).plusNanos(1))) {
            var cpu = assertThrows(InvalidConfigurationException.class, () -> CpuOptions.defaults().withTimeout(d), d::toString);
            assertEquals("timeout=" + d + " (rule: 0 < timeout <= PT168H (7 days))", cpu.getMessage());
        }
        long now = System.nanoTime();
        assertTrue(Timeouts.deadlineNanos(Duration.ofSeconds(Long.MAX_VALUE), 4) - now > 0, "a saturated deadline is ahead");
        assertEquals(Long.MAX_VALUE, Timeouts.saturatedMillis(Duration.ofDays(7), Long.MAX_VALUE, 10_000));
        AttentionShape shape = AttentionShape.of(1, 16, 4, 16);
        Plan plan = Plan.of(shape, DeviceMesh.of(Topology.of(2, 2), Method.STREAMFUSION, 2, 2, 1));
        Inputs in = new Inputs(shape, 5);
        String prefix;
        try (CpuWorld world = CpuWorld.create(Topology.of(2, 2), CpuOptions.defaults().withTimeout(Timeouts.MAX))) {
            prefix = world.threadPrefix();
            double err = ReferenceAttention.relativeError(ShardedAttention.forward(world, plan, in.q, in.k, in.v),
                    ReferenceAttention.attention(in.q, in.k, in.v, 1, 16, 4, 16, shape.softmaxScale()));
            assertTrue(err <= 1e-5, "error " + err);
        }
        List<String> left = Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(n -> n.startsWith(prefix)).toList();
        assertEquals(List.of(), left, "threads left behind");
    }
}
