package org.streamfusion.bench.jmh;

import java.util.List;
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
import org.streamfusion.DistributedAttention;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.TensorView;
import org.streamfusion.cpu.CpuBuffer;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ShardedAttention;
import org.streamfusion.planning.Planner;

/**
 * The CPU layer as a service runs it: each rank's {@code DistributedAttention} and its Q, K, V and O made once
 * per trial and kept, and one {@code forward} on every rank per operation (until every rank's stream is done).
 * {@link CpuAttentionBenchmark} times the whole {@code ShardedAttention.forward} instead, which builds the layer,
 * shards the inputs and gathers the output on every call. Same parameters and inputs as that benchmark.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class CpuKeptLayerBenchmark {
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

    /** One rank's kept layer: its arena of Q, K, V, O and the attention object. */
    private record RankLayer(DeviceArena io, DistributedAttention attention, TensorView[] qkvo) {
    }

    private CpuWorld world;
    private Plan plan;
    private List<RankLayer> layers;
    private long cpuAtStart;
    private long wallAtStart;

    @Setup(Level.Trial)
    public void setUp() {
        Topology topo = Topology.parse(topology);
        AttentionShape shape = AttentionShape.of(1, seq, heads, dim);
        plan = Planner.withDefaults().best(shape, topo, method);
        Plan kept = plan;
        float[][] qkv = CpuAttentionBenchmark.inputs(shape, 42);
        world = CpuWorld.create(topo);
        layers = world.run(dev -> {
            int rank = dev.rank();
            int rows = kept.shardRows(rank);
            DeviceArena io = dev.newArena();
            TensorView[] qkvo = new TensorView[4];
            for (int i = 0; i < 4; i++) {
                Buffer b = io.allocate((long) rows * heads * dim, shape.dtype());
                if (i < 3) {
                    ((CpuBuffer) b).write(ShardedAttention.shard(qkv[i], kept, rank)); // a CPU arena makes CpuBuffers
                }
                qkvo[i] = TensorView.contiguous(b, 1, rows, heads, dim);
            }
            return new RankLayer(io, DistributedAttention.create(kept, dev), qkvo);
        });
    }

    @Setup(Level.Iteration)
    public void startClocks() {
        cpuAtStart = CpuAttentionBenchmark.processCpuNanos();
        wallAtStart = System.nanoTime();
    }

    @Benchmark
    public List<Boolean> layer() {
        return world.run(dev -> {
            RankLayer mine = layers.get(dev.rank());
            TensorView[] x = mine.qkvo();
            mine.attention().forward(x[0], x[1], x[2], x[3]);
            mine.attention().stream().synchronize("rank " + dev.rank() + " forward done");
            return Boolean.TRUE;
        });
    }

    @TearDown(Level.Iteration)
    public void printCpuOverWall() {
        long cpu = CpuAttentionBenchmark.processCpuNanos() - cpuAtStart;
        double ratio = (double) cpu / (System.nanoTime() - wallAtStart);
        System.out.printf(" cpu/wall %.2f (%s on %s, kept layer, %d cores)%n", ratio, plan.mesh(), topology,
                Runtime.getRuntime().availableProcessors());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        world.run(dev -> {
            RankLayer mine = layers.get(dev.rank());
            mine.attention().close();
            mine.io().close();
            return Boolean.TRUE;
        });
        world.close();
    }
}
