package org.streamfusion.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.streamfusion.AttentionShape;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.planning.Planner;
import org.streamfusion.Topology;

/**
 * A world starts its threads when it is created, and a forward on it starts none: the host and stream threads
 * of every call are the world's, reused, for every method.
 */
class WorkerThreadsTest {
    @Test
    void forwardCallsOnAWorldStartNoThread() {
        Topology topology = Topology.parse("2x2");
        AttentionShape shape = AttentionShape.of(1, 64, 4, 16);
        SplittableRandom rnd = new SplittableRandom(3);
        float[][] x = new float[3][Math.toIntExact(shape.elements())];
        for (float[] t : x) {
            for (int i = 0; i < t.length; i++) {
                t[i] = (float) rnd.nextDouble(-1, 1);
            }
        }
        try (CpuWorld world = CpuWorld.create(topology)) {
            int atCreation = world.threadsStarted();
            assertEquals(topology.worldSize() * WorkerThreads.PER_RANK, atCreation, "threads started with the world");
            float[] first = null;
            for (Method method : new Method[] {Method.RING, Method.ULYSSES, Method.USP, Method.STREAMFUSION, Method.RING}) {
                Plan plan = Planner.withDefaults().best(shape, topology, method);
                float[] out = ShardedAttention.forward(world, plan, x[0], x[1], x[2]);
                if (first == null) {
                    first = out;
                }
                assertEquals(atCreation, world.threadsStarted(), plan + ": threads started by the forward calls");
            }
            assertArrayEquals(first, ShardedAttention.forward(world, Planner.withDefaults().best(shape, topology, Method.RING),
                    x[0], x[1], x[2]), "the same call on reused threads gives the same bits");
        }
    }
}
