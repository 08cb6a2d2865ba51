package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.streamfusion.AttentionShape;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.planning.Planner;
import org.streamfusion.Topology;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cpu.ShardedAttention;

/** The CPU half of the README's example, as written there (a smaller S), checked against float64. */
class ReadmeExampleTest {
    @Test
    void theReadmeExampleRunsStreamFusionOnA2x2MeshExactly() {
        Topology topology = Topology.of(2, 2);
        AttentionShape shape = AttentionShape.of(1, 128, 24, 128);
        Planner planner = Planner.withDefaults();
        String explanation = planner.explain(shape, topology);
        Plan plan = planner.best(shape, topology, Method.STREAMFUSION);
        SplittableRandom rnd = new SplittableRandom(System.nanoTime());
        float[][] x = new float[3][Math.toIntExact(shape.elements())];
        for (float[] t : x) {
            for (int i = 0; i < t.length; i++) {
                t[i] = (float) rnd.nextDouble(-1.5, 1.5);
            }
        }
        float[] q = x[0], k = x[1], v = x[2];
        float[] o;
        try (CpuWorld world = CpuWorld.create(topology)) {
            o = ShardedAttention.forward(world, plan, q, k, v);
        }
        double err = ReferenceAttention.relativeError(o, ReferenceAttention.attention(q, k, v, 1, 128, 24, 128,
                shape.softmaxScale()));
        assertTrue(explanation.contains("chosen: "), explanation);
        assertTrue(err <= 1e-5, "relative error " + err);
    }
}
