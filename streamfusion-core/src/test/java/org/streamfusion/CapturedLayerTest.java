package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.cpu.CpuRankDevice;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cpu.ShardedAttention;
import org.streamfusion.planning.Planner;

/**
 * A captured layer (docs/graphs.md) on the CPU backend, which has no graphs: it says so, replays by
 * enqueueing the layer again, and each replay reads the bound inputs as they are then, so new inputs
 * written in place give what {@code forward} gives on them, bit for bit, and float64 attention to the
 * exactness tolerance. Closing the layer closes what was captured from it.
 */
class CapturedLayerTest {
    @ParameterizedTest(name = "{0}")
    @EnumSource(Method.class)
    void replaysOfACapturedLayerOnRefilledInputsEqualForwardBitForBit(Method method) {
        Topology topology = Topology.of(2, 2);
        AttentionShape shape = AttentionShape.of(1, 13, 8, 16); // S = 13: ragged shards
        Plan plan = Planner.withDefaults().best(shape, topology, method);
        Inputs first = Inputs.fresh(shape);
        Inputs second = Inputs.fresh(shape);
        int n = topology.worldSize();
        float[] replayed = new float[first.q.length];
        try (CpuWorld world = CpuWorld.create(topology)) {
            List<float[][]> outs = world.run(dev -> {
                try (Arena memory = Arena.ofShared(); DeviceArena streams = dev.newArena();
                        DistributedAttention attn = DistributedAttention.create(plan, dev)) {
                    int rows = plan.shardRows(dev.rank());
                    long elements = (long) shape.batch() * rows * shape.heads() * shape.headDim();
                    MemorySegment[] m = new MemorySegment[4];
                    TensorView[] x = new TensorView[4];
                    for (int t = 0; t < 4; t++) {
                        m[t] = memory.allocate(elements * Float.BYTES, 64);
                        x[t] = dev.wrap(m[t], shape.batch(), rows, shape.heads(), shape.headDim());
                    }
                    fill(m, first, shape, n, dev.rank());
                    CapturedLayer layer = attn.capture(x[0], x[1], x[2], x[3]);
                    assertEquals(CapturedLayer.Mode.EAGER, layer.replayMode(), plan + ": " + layer.replayReason());
                    assertTrue(layer.replayReason().contains("no graph capture"), layer.replayReason());
                    fill(m, second, shape, n, dev.rank());
                    Stream caller = streams.createStream("caller");
                    layer.replay(caller);
                    caller.synchronize("rank " + dev.rank() + " replay");
                    float[] viaReplay = m[3].toArray(ValueLayout.JAVA_FLOAT);
                    m[3].fill((byte) 0);
                    attn.forward(x[0], x[1], x[2], x[3]);
                    attn.stream().synchronize("rank " + dev.rank() + " forward");
                    float[] viaForward = m[3].toArray(ValueLayout.JAVA_FLOAT);
                    attn.close();
                    assertThrows(InvalidStateException.class, layer::replay, "replay after the layer closed");
                    return new float[][] {viaReplay, viaForward};
                }
            });
            for (int g = 0; g < n; g++) {
                assertArrayEquals(outs.get(g)[1], outs.get(g)[0], plan + ", rank " + g + ": replay differs from forward");
                ShardedAttention.unshard(outs.get(g)[0], replayed, shape, n, g);
            }
        }
        double[] ref = ReferenceAttention.attention(second.q, second.k, second.v, shape.batch(), shape.seqLen(),
                shape.heads(), shape.headDim(), shape.softmaxScale());
        double err = ReferenceAttention.relativeError(replayed, ref);
        assertTrue(err <= ExactnessTest.TOLERANCE, plan + " replayed (seed " + second.seed + "): error " + err);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Method.class)
    void captureRefusesWhatForwardRefusesBeforeAnyStep(Method method) {
        Topology topology = Topology.of(1, 2);
        AttentionShape shape = AttentionShape.of(1, 8, 4, 16);
        Plan plan = Planner.withDefaults().best(shape, topology, method);
        try (CpuWorld world = CpuWorld.create(topology)) {
            world.run(dev -> {
                try (DeviceArena arena = dev.newArena(); DistributedAttention attn = DistributedAttention.create(plan, dev)) {
                    TensorView good = TensorView.contiguous(arena.allocate(4L * 4 * 16, DType.F32), 1, 4, 4, 16);
                    TensorView wrongRows = TensorView.contiguous(arena.allocate(3L * 4 * 16, DType.F32), 1, 3, 4, 16);
                    InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class,
                            () -> attn.capture(good, good, wrongRows, good));
                    assertTrue(e.getMessage().contains("v"), e.getMessage());
                    attn.close();
                    assertThrows(InvalidStateException.class, () -> attn.capture(good, good, good, good));
                    return null;
                }
            });
        }
    }

    private static void fill(MemorySegment[] m, Inputs in, AttentionShape shape, int n, int rank) {
        float[][] global = {in.q, in.k, in.v};
        for (int t = 0; t < 3; t++) {
            float[] shard = ShardedAttention.shard(global[t], shape, n, rank);
            MemorySegment.copy(shard, 0, m[t], ValueLayout.JAVA_FLOAT, 0, shard.length);
        }
    }
}
