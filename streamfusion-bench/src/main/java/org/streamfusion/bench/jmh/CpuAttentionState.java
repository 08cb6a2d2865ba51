package org.streamfusion.bench.jmh;

import java.time.Duration;
import java.util.SplittableRandom;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.streamfusion.AttentionShape;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.planning.Planner;

/**
 * What the CPU layer benchmarks share: the parameters, one world and the method's planner-chosen plan per trial,
 * the inputs of {@code cpu_vs_numpy.py} (SplittableRandom(42), q then k then v, uniform in [-1, 1), rounded to
 * fp32), and the process's CPU time over its wall time ({@code cpu/wall}) printed after each iteration, which
 * says how many cores the path kept busy.
 */
@State(Scope.Benchmark)
public abstract class CpuAttentionState {
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

    protected CpuWorld world;
    protected Plan plan;
    protected float[][] qkv;
    private long cpuAtStart;
    private long wallAtStart;

    @Setup(Level.Trial)
    public final void setUp() {
        Topology topo = Topology.parse(topology);
        AttentionShape shape = AttentionShape.of(1, seq, heads, dim);
        plan = Planner.withDefaults().best(shape, topo, method);
        world = CpuWorld.create(topo);
        qkv = inputs(shape, 42);
        prepare();
    }

    /** What the benchmark makes once per trial on top of the world, the plan and the inputs. */
    protected void prepare() {
    }

    /** Releases what {@link #prepare} made, before the world closes. */
    protected void release() {
    }

    /** {@return what the cpu/wall line says after the topology, e.g. {@code ", kept layer"}} */
    protected String variant() {
        return "";
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
    public final void startClocks() {
        cpuAtStart = processCpuNanos();
        wallAtStart = System.nanoTime();
    }

    @TearDown(Level.Iteration)
    public final void printCpuOverWall() {
        double ratio = (double) (processCpuNanos() - cpuAtStart) / (System.nanoTime() - wallAtStart);
        System.out.printf(" cpu/wall %.2f (%s on %s%s, %d cores)%n", ratio, plan.mesh(), topology, variant(),
                Runtime.getRuntime().availableProcessors());
    }

    /** All threads of this JVM (GC and compiler included), as the OS counts them; -1 where it does not say. */
    private static long processCpuNanos() {
        return ProcessHandle.current().info().totalCpuDuration().map(Duration::toNanos).orElse(-1L);
    }

    @TearDown(Level.Trial)
    public final void tearDown() {
        try {
            release();
        } finally {
            world.close();
        }
    }
}
