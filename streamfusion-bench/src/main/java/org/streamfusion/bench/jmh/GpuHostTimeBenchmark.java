package org.streamfusion.bench.jmh;

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
import org.streamfusion.CapturedLayer;
import org.streamfusion.DType;
import org.streamfusion.DistributedAttention;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.backend.TensorView;

/**
 * Host time of one call from Java (docs/graphs.md): {@code forward}, which checks its arguments and enqueues
 * the layer's kernels and transfers, against {@code replay} of the same layer captured as a CUDA graph. Only
 * the call is timed: each single-shot iteration is one call, and the stream is drained after it, outside the
 * measurement, so the GPU never pushes back on the enqueue. Every rank runs the same fixed iterations (the
 * layers are collectives); start it through the launcher as {@link GpuLayerBenchmark} is started, e.g.
 * <pre>
 * streamfusion jmh-launch --nproc 1 org.openjdk.jmh.Main GpuHostTimeBenchmark -p topology=1x1 -p mesh=1/1/1
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 200, batchSize = 1)
@Measurement(iterations = 1000, batchSize = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xss2m"})
public class GpuHostTimeBenchmark {
    /** Creates the benchmark's state; JMH fills the parameters. */
    public GpuHostTimeBenchmark() {
    }

    /** The logical {@code MxG} topology the job's ranks form. */
    @Param({"1x1"})
    public String topology;

    /** The method. */
    @Param({"USP"})
    public Method method;

    /** {@code t/u/r} (JMH splits a parameter's values at commas). */
    @Param({"1/1/1"})
    public String mesh;

    /** S: 4608 is Flux at 1024x1024 with its 512 text tokens. */
    @Param({"4608"})
    public int seqLen;

    /** H. */
    @Param({"24"})
    public int heads;

    /** D. */
    @Param({"128"})
    public int headDim;

    private JmhLayers.Layer layer;
    private DistributedAttention attention;
    private CapturedLayer captured;
    private TensorView[] x;

    /** Joins the job, makes the layer and captures it. */
    @Setup(Level.Trial)
    public void setUp() {
        AttentionShape shape = AttentionShape.of(1, seqLen, heads, headDim, DType.BF16);
        Plan plan = JmhLayers.plan(topology, method, mesh, shape);
        layer = JmhLayers.Layer.open(plan);
        attention = layer.attention();
        x = layer.x();
        captured = attention.capture(x[0], x[1], x[2], x[3]);
        if (captured.replayMode() != CapturedLayer.Mode.GRAPH) { // else "replay" would time eager layers
            throw new IllegalStateException(plan + " was not captured as a graph: " + captured.replayReason());
        }
    }

    /** One eager layer's enqueue. */
    @Benchmark
    public void forward() {
        attention.forward(x[0], x[1], x[2], x[3]);
    }

    /** One captured layer's replay. */
    @Benchmark
    public void replay() {
        captured.replay();
    }

    /** Drains the layer's stream after each timed call, outside the measurement. */
    @TearDown(Level.Iteration)
    public void drain() {
        attention.stream().synchronize("jmh host-time iteration");
    }

    /** Releases the layer, its capture, the tensors and the device. */
    @TearDown(Level.Trial)
    public void tearDown() {
        layer.close();
    }
}
