package org.streamfusion.bench.jmh;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;
import org.streamfusion.cpu.ShardedAttention;

/**
 * The CPU reference path at a real size: one whole layer ({@code ShardedAttention.forward}: shard, every
 * rank's layer, gather) per method at its planner-chosen mesh, on one world per trial. Parameters, inputs and
 * the cpu/wall line are {@link CpuAttentionState}'s; {@code cpu_vs_numpy.py} times NumPy's fp32 attention on
 * the same inputs.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class CpuAttentionBenchmark extends CpuAttentionState {
    @Benchmark
    public float[] layer() {
        return ShardedAttention.forward(world, plan, qkv[0], qkv[1], qkv[2]);
    }
}
