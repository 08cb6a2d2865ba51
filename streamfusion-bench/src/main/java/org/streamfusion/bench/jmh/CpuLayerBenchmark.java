package org.streamfusion.bench.jmh;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.streamfusion.AttentionShape;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.planning.Planner;
import org.streamfusion.Topology;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ShardedAttention;

/**
 * One attention layer per method, each at its planner-chosen mesh, on the CPU reference path. This
 * measures the schedules' host-side and synchronisation overhead with tiny compute, not GPU speed:
 * the figures say which schedules issue more stream operations, nothing about the paper's claims.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class CpuLayerBenchmark {
    @Param({"ULYSSES", "RING", "USP", "TAS", "TORUS_TWO_SIDED", "STREAMFUSION"})
    public Method method;

    @Param({"2x2"})
    public String topology;

    private CpuWorld world;
    private Plan plan;
    private float[][] qkv;

    @Setup(Level.Trial)
    public void setUp() {
        Topology topo = Topology.parse(topology);
        AttentionShape shape = AttentionShape.of(1, 32 * topo.worldSize(), 24, 16);
        plan = Planner.withDefaults().best(shape, topo, method);
        world = CpuWorld.create(topo);
        SplittableRandom rnd = new SplittableRandom(42);
        List<float[]> x = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            float[] t = new float[Math.toIntExact(shape.elements())];
            for (int j = 0; j < t.length; j++) {
                t[j] = (float) rnd.nextDouble(-1, 1);
            }
            x.add(t);
        }
        qkv = x.toArray(float[][]::new);
    }

    @Benchmark
    public float[] layer() {
        return ShardedAttention.forward(world, plan, qkv[0], qkv[1], qkv[2]);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        world.close();
    }
}
