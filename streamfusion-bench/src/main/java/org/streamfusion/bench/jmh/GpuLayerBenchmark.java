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
import org.streamfusion.DType;
import org.streamfusion.DistributedAttention;
import org.streamfusion.Method;
import org.streamfusion.backend.TensorView;

/**
 * The sweep's layers from JMH, in every rank's process: one layer (forward and a bounded stream
 * synchronisation) per invocation. Every layer is a collective, so all ranks must run exactly the same
 * invocations: single-shot mode (one layer per iteration), fixed warm-up and measurement iteration
 * counts, one fork per trial and the same {@code -p} values on every rank. Start it through the
 * launcher with JMH on the class path (bin/streamfusion's {@code jmh-launch}), e.g.
 * <pre>
 * streamfusion jmh-launch --nproc 2 --jvm-arg -Dstreamfusion.emulatedLink=rail-400G org.openjdk.jmh.Main \
 *     GpuLayerBenchmark -p topology=2x1 -p method=STREAMFUSION -p mesh=2/1/1 -p seqLen=32768 -p headDim=128
 * </pre>
 * Rank 0's figures are the ones to read (every rank prints its own). The emulated link reaches the
 * forked JVM through {@code -Dstreamfusion.emulatedLink} in {@code -jvmArgsAppend}, or as the launcher's
 * JVM argument when JMH runs with {@code -f 0}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, batchSize = 1)
@Measurement(iterations = 20, batchSize = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xss2m"})
public class GpuLayerBenchmark {
    @Param({"2x1"})
    public String topology;

    @Param({"STREAMFUSION"})
    public Method method;

    /** {@code t/u/r} (JMH splits a parameter's values at commas; the CSV's {@code t,u,r} with '/' instead). */
    @Param({"2,1,1"})
    public String mesh;

    @Param({"32768"})
    public int seqLen;

    @Param({"128"})
    public int headDim;

    @Param({"1"})
    public int batch;

    @Param({"24"})
    public int heads;

    private JmhLayers.Layer layer;
    private DistributedAttention attention;
    private TensorView[] x;

    @Setup(Level.Trial)
    public void setUp() {
        AttentionShape shape = AttentionShape.of(batch, seqLen, heads, headDim, DType.BF16);
        layer = JmhLayers.Layer.open(JmhLayers.plan(topology, method, mesh, shape));
        attention = layer.attention();
        x = layer.x();
    }

    @Benchmark
    public void layer() {
        attention.forward(x[0], x[1], x[2], x[3]);
        attention.stream().synchronize("jmh layer");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        layer.close();
    }
}
