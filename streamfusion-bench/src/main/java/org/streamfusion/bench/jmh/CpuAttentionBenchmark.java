package org.streamfusion.bench.jmh;

import java.time.Duration;
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
import org.streamfusion.Topology;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ShardedAttention;
import org.streamfusion.planning.Planner;

/**
 * The CPU reference path at a real size: one whole layer ({@code ShardedAttention.forward}: shard, every
 * rank's layer, gather) per method at its planner-chosen mesh, on one world per trial. Each measurement
 * iteration also prints the process's CPU time over its wall time ({@code cpu/wall}), which says how many
 * cores the path kept busy. The inputs are those of {@code cpu_vs_numpy.py} (SplittableRandom(42), q then k
 * then v, uniform in [-1, 1), rounded to fp32), which times NumPy's fp32 attention on them.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class CpuAttentionBenchmark {
    @Param({"ULYSSES", "RING", "USP", "TAS", "TORUS_TWO_SIDED", "STREAMFUSION"})
    public Method method;

    @Param({"1x2", "2x2"})
    public String topology;

    @Param({"2048"})
    public int seq;

    @Param({"8"})
    public int heads;

    @Param({"64"})
    public int dim;

    private CpuWorld world;
    private Plan plan;
    private float[][] qkv;
    private long cpuAtStart;
    private long wallAtStart;

    @Setup(Level.Trial)
    public void setUp() {
        Topology topo = Topology.parse(topology);
        AttentionShape shape = AttentionShape.of(1, seq, heads, dim);
        plan = Planner.withDefaults().best(shape, topo, method);
        world = CpuWorld.create(topo);
        qkv = inputs(shape, 42);
    }

    /** q, k and v in that order from one {@code SplittableRandom(seed)}, uniform in [-1, 1), rounded to fp32. */
    static float[][] inputs(AttentionShape shape, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[][] x = new float[3][Math.toIntExact(shape.elements())];
        for (float[] t : x) {
            for (int j = 0; j < t.length; j++) {
                t[j] = (float) rnd.nextDouble(-1, 1);
            }
        }
        return x;
    }

    @Setup(Level.Iteration)
    public void startClocks() {
        cpuAtStart = processCpuNanos();
        wallAtStart = System.nanoTime();
    }

    @Benchmark
    public float[] layer() {
        return ShardedAttention.forward(world, plan, qkv[0], qkv[1], qkv[2]);
    }

    @TearDown(Level.Iteration)
    public void printCpuOverWall() {
        double ratio = (double) (processCpuNanos() - cpuAtStart) / (System.nanoTime() - wallAtStart);
        System.out.printf(" cpu/wall %.2f (%s on %s, %d cores)%n", ratio, plan.mesh(), topology,
                Runtime.getRuntime().availableProcessors());
    }

    /** All threads of this JVM (GC and compiler included), as the OS counts them; -1 where it does not say. */
    static long processCpuNanos() {
        return ProcessHandle.current().info().totalCpuDuration().map(Duration::toNanos).orElse(-1L);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        world.close();
    }
}
