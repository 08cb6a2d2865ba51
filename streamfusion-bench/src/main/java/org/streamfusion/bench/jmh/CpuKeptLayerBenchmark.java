package org.streamfusion.bench.jmh;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;
import org.streamfusion.DistributedAttention;
import org.streamfusion.Plan;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.TensorView;
import org.streamfusion.cpu.CpuBuffer;
import org.streamfusion.cpu.ShardedAttention;

/**
 * The CPU layer as a service runs it: each rank's {@code DistributedAttention} and its Q, K, V and O made once
 * per trial and kept, and one {@code forward} on every rank per operation (until every rank's stream is done).
 * {@link CpuAttentionBenchmark} times the whole {@code ShardedAttention.forward} instead, which builds the layer,
 * shards the inputs and gathers the output on every call. Same parameters and inputs as that benchmark.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class CpuKeptLayerBenchmark extends CpuAttentionState {
    /** One rank's kept layer: its arena of Q, K, V, O and the attention object. */
    private record RankLayer(DeviceArena io, DistributedAttention attention, TensorView[] qkvo) {
    }

    private List<RankLayer> layers;

    @Override
    protected void prepare() {
        Plan kept = plan;
        float[][] inputs = qkv;
        int rowElements = heads * dim;
        layers = world.run(dev -> {
            int rank = dev.rank();
            int rows = kept.shardRows(rank);
            DeviceArena io = dev.newArena();
            TensorView[] qkvo = new TensorView[4];
            for (int i = 0; i < 4; i++) {
                Buffer b = io.allocate((long) rows * rowElements, kept.shape().dtype());
                if (i < 3) {
                    ((CpuBuffer) b).write(ShardedAttention.shard(inputs[i], kept, rank)); // a CPU arena makes CpuBuffers
                }
                qkvo[i] = TensorView.contiguous(b, 1, rows, kept.shape().heads(), kept.shape().headDim());
            }
            return new RankLayer(io, DistributedAttention.create(kept, dev), qkvo);
        });
    }

    @Override
    protected String variant() {
        return ", kept layer";
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

    @Override
    protected void release() {
        world.run(dev -> {
            RankLayer mine = layers.get(dev.rank());
            mine.attention().close();
            mine.io().close();
            return Boolean.TRUE;
        });
    }
}
