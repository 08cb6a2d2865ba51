package com.example.dit;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.DistributedAttention;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.backend.TensorView;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cuda.DeviceMemory;
import org.streamfusion.gpu.CudaRankDevice;
import org.streamfusion.gpu.GpuOptions;
import org.streamfusion.gpu.HostTransfer;
import org.streamfusion.launch.DistributedEnvironment;
import org.streamfusion.planning.Planner;

/** One process per GPU, started by a launcher: each rank runs its shard of one layer and checks it against float64. */
public final class GpuQuickStart {
    public static void main(String[] args) {
        DistributedEnvironment env = DistributedEnvironment.fromSystem(); // RANK, WORLD_SIZE, ... of the launcher
        Topology topology = Topology.of(1, env.worldSize());             // one machine; Topology.of(M, G) for more
        AttentionShape shape = AttentionShape.of(1, 1024 * env.worldSize(), 24, 128);  // bf16
        Plan plan = Planner.withDefaults().best(shape, topology, Method.STREAMFUSION);
        int rank = env.rank(), rows = plan.shardRows(rank), start = plan.shardStart(rank);
        int row = shape.heads() * shape.headDim();

        SplittableRandom random = new SplittableRandom(42);              // the same whole inputs on every rank
        float[][] qkv = new float[3][Math.toIntExact(shape.elements())];
        for (float[] x : qkv) {
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) random.nextGaussian();
            }
        }
        try (CudaRankDevice gpu = CudaRankDevice.join(env, topology, GpuOptions.defaults());
                DistributedAttention attention = DistributedAttention.create(plan, gpu);
                Arena host = Arena.ofConfined();
                DeviceMemory q = DeviceMemory.allocate(rows * row * 2L); // the service's own device tensors:
                DeviceMemory k = DeviceMemory.allocate(rows * row * 2L); // any framework's pointers wrap the same way
                DeviceMemory v = DeviceMemory.allocate(rows * row * 2L);
                DeviceMemory o = DeviceMemory.allocate(rows * row * 2L)) {
            DeviceMemory[] memory = {q, k, v, o};
            TensorView[] x = new TensorView[4];
            MemorySegment staging = host.allocate(rows * row * 2L, 16);
            for (int t = 0; t < 4; t++) {
                if (t < 3) {                                             // this rank's rows [start, start + rows)
                    for (int i = 0; i < rows * row; i++) {
                        staging.setAtIndex(ValueLayout.JAVA_SHORT, i, HostTransfer.toBf16(qkv[t][start * row + i]));
                    }
                    memory[t].copyFrom(staging);
                }
                x[t] = gpu.wrap(memory[t].address(), memory[t].byteSize(), DType.BF16, 1, rows, shape.heads(),
                        shape.headDim(), (long) rows * row, row, shape.headDim()); // a raw address: no restricted call
            }
            attention.forward(x[0], x[1], x[2], x[3]);
            attention.stream().synchronize("layer done");

            o.copyTo(staging);
            float[] mine = new float[rows * row];
            for (int i = 0; i < mine.length; i++) {
                mine[i] = HostTransfer.fromBf16(staging.getAtIndex(ValueLayout.JAVA_SHORT, i));
            }
            double[] whole = ReferenceAttention.attention(qkv[0], qkv[1], qkv[2], shape.batch(), shape.seqLen(),
                    shape.heads(), shape.headDim(), shape.softmaxScale());
            double[] reference = Arrays.copyOfRange(whole, start * row, (start + rows) * row);
            double error = ReferenceAttention.relativeError(mine, reference);
            System.out.printf("rank %d, %s: relative error %.2e against float64%n", rank, plan.mesh(), error);
            if (!(error <= 1e-2)) {                                      // bf16 inputs and output
                throw new IllegalStateException("rank " + rank + ": relative error " + error + " exceeds 1e-2");
            }
        }
    }
}
