package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cpu.ShardedAttention;

/**
 * A caller interrupted inside {@code forward}, at seeded random points over 200 runs: the world reports
 * failed with the interruption as its cause, none of its threads survives the call, and a new world then
 * runs exact.
 */
class InterruptedForwardTest {
    private static final Topology TOPOLOGY = Topology.of(2, 2);
    private static final AttentionShape SHAPE = AttentionShape.of(1, 16, 4, 16);
    private static final double TOLERANCE = 1e-5;

    @Test
    void anInterruptedForwardFailsTheWorldStopsItsThreadsAndANewWorldRunsExact() throws Exception {
        Plan[] plans = {
            Plan.of(SHAPE, DeviceMesh.of(TOPOLOGY, Method.STREAMFUSION, 2, 2, 1)),
            Plan.of(SHAPE, DeviceMesh.of(TOPOLOGY, Method.USP, 1, 2, 2)),
            Plan.of(SHAPE, DeviceMesh.of(TOPOLOGY, Method.RING, 1, 1, 4))};
        Inputs in = new Inputs(SHAPE, 23);
        double[] ref = ReferenceAttention.attention(in.q, in.k, in.v, 1, 16, 4, 16, SHAPE.softmaxScale());
        long forwardNanos = timeOneForward(plans[0], in);
        SplittableRandom random = new SplittableRandom(23);
        int interrupted = 0;
        List<String> failures = new ArrayList<>();
        for (int run = 0; run < 200; run++) {
            Plan plan = plans[run % plans.length];
            long delay = random.nextLong(forwardNanos * 3 / 2 + 1);
            CpuWorld world = CpuWorld.create(TOPOLOGY);
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            Thread caller = Thread.ofPlatform().start(() -> {
                try {
                    ShardedAttention.forward(world, plan, in.q, in.k, in.v);
                } catch (Throwable t) {
                    thrown.set(t);
                }
            });
            LockSupport.parkNanos(delay);
            caller.interrupt();
            caller.join(30_000);
            String name = "run " + run + " (" + plan.mesh() + ", interrupt after " + delay / 1000 + " us)";
            List<String> alive = threadsOf(world);
            if (thrown.get() != null) {
                interrupted++;
                Throwable t = thrown.get();
                if (!(t instanceof StreamFusionException) || !(t.getCause() instanceof InterruptedException)) {
                    failures.add(name + ": threw " + t);
                }
                if (!world.failed()) {
                    failures.add(name + ": the world does not report failed");
                }
                try {
                    ShardedAttention.forward(world, plan, in.q, in.k, in.v);
                    failures.add(name + ": the failed world ran again");
                } catch (InvalidStateException e) {
                    if (e.getCause() != t) {
                        failures.add(name + ": a later run names " + e.getCause() + ", not the interruption");
                    }
                }
            }
            // An interrupted call stops the world's threads; a finished one leaves them for the next call.
            if (thrown.get() != null && !alive.isEmpty()) {
                failures.add(name + ": threads survive the interrupted call: " + alive);
            }
            world.close();
            List<String> afterClose = threadsOf(world);
            if (!afterClose.isEmpty()) {
                failures.add(name + ": threads survive close: " + afterClose);
            }
            if (run % 10 == 9 || thrown.get() != null && interrupted % 10 == 1) {
                try (CpuWorld fresh = CpuWorld.create(TOPOLOGY)) {
                    double err = ReferenceAttention.relativeError(ShardedAttention.forward(fresh, plan, in.q, in.k, in.v), ref);
                    if (!(err <= TOLERANCE)) {
                        failures.add(name + ": the next world's error is " + err);
                    }
                }
            }
        }
        System.out.printf("InterruptedForwardTest: 200 runs, %d interrupted inside forward (one forward %.2f ms)%n",
                interrupted, forwardNanos / 1e6);
        assertEquals(List.of(), failures);
        assertTrue(interrupted >= 50, "only " + interrupted + " of 200 interrupts landed inside forward");
    }

    private static long timeOneForward(Plan plan, Inputs in) {
        try (CpuWorld world = CpuWorld.create(TOPOLOGY)) {
            long best = Long.MAX_VALUE;
            for (int i = 0; i < 20; i++) {
                long start = System.nanoTime();
                ShardedAttention.forward(world, plan, in.q, in.k, in.v);
                best = Math.min(best, System.nanoTime() - start);
            }
            return best;
        }
    }

    private static List<String> threadsOf(CpuWorld world) {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive)
                .map(Thread::getName).filter(n -> n.startsWith(world.threadPrefix())).toList();
    }
}
