package org.streamfusion.schedule;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.streamfusion.AttentionShape;
import org.streamfusion.CapturedLayer;
import org.streamfusion.DType;
import org.streamfusion.DistributedAttention;
import org.streamfusion.InvalidStateException;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.cpu.CpuRankDevice;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.planning.Planner;
import org.streamfusion.spi.Communicator;
import org.streamfusion.spi.Kernels;
import org.streamfusion.spi.RankBackend;
import org.streamfusion.spi.StreamCapture;

/**
 * The graph path of a captured layer (docs/graphs.md), driven on the CPU backend through a stand-in
 * {@link StreamCapture} whose "graph" enqueues the captured body again on each launch: a captured layer
 * replays through it and equals {@code forward} bit for bit; a refused capture falls back to eager replays
 * naming the refusal; closing the layer closes every open captured layer even when one fails to close, and
 * a captured layer its user closed is not closed again.
 */
class CapturedLayerGraphPathTest {
    /** A backend's capture that records the body and enqueues it again on each launch. */
    static final class StandInCapture implements StreamCapture {
        final boolean refuse;
        final boolean failClose;
        int launches;
        int closes;

        StandInCapture(boolean refuse, boolean failClose) {
            this.refuse = refuse;
            this.failClose = failClose;
        }

        @Override
        public Replay capture(Stream origin, Runnable body) {
            if (refuse) {
                throw new Refused("stand-in refusal", null);
            }
            return new Replay() {
                @Override
                public void launch(Stream stream) {
                    launches++;
                    body.run();
                }

                @Override
                public long operations() {
                    return 7;
                }

                @Override
                public void close() {
                    closes++;
                    if (failClose) {
                        throw new IllegalStateException("stand-in close failure " + closes);
                    }
                }
            };
        }
    }

    /** The CPU rank with the stand-in capture. */
    record WithCapture(CpuRankDevice cpu, StandInCapture capture) implements RankBackend {
        @Override
        public int rank() {
            return cpu.rank();
        }

        @Override
        public Topology topology() {
            return cpu.topology();
        }

        @Override
        public DeviceArena newArena() {
            return cpu.newArena();
        }

        @Override
        public DType storageType(DType requested) {
            return cpu.storageType(requested);
        }

        @Override
        public Communicator communicator() {
            return cpu.communicator();
        }

        @Override
        public Kernels kernels() {
            return cpu.kernels();
        }

        @Override
        public Class<? extends Buffer> bufferType() {
            return cpu.bufferType();
        }

        @Override
        public Optional<StreamCapture> streamCapture() {
            return Optional.of(capture);
        }
    }

    private static TensorView tensor(DeviceArena arena, AttentionShape s, int rows, long seed) {
        Buffer b = arena.allocate((long) s.batch() * rows * s.heads() * s.headDim(), DType.F32);
        float[] values = new float[Math.toIntExact(b.length())];
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) rnd.nextGaussian();
        }
        org.streamfusion.cpu.CpuBuffer.class.cast(b).write(values);
        return TensorView.contiguous(b, s.batch(), rows, s.heads(), s.headDim());
    }

    private static float[] read(TensorView t) {
        return org.streamfusion.cpu.CpuBuffer.class.cast(t.base()).read();
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Method.class)
    void aReplayedGraphEqualsForwardBitForBitAndARefusedCaptureReplaysEagerlySayingWhy(Method method) {
        Topology topology = Topology.of(2, 2);
        AttentionShape shape = AttentionShape.of(1, 13, 8, 16);
        Plan plan = Planner.withDefaults().best(shape, topology, method);
        try (CpuWorld world = CpuWorld.create(topology)) {
            world.run(cpu -> {
                for (boolean refuse : new boolean[] {false, true}) {
                    StandInCapture capture = new StandInCapture(refuse, false);
                    RankBackend dev = new WithCapture(cpu, capture);
                    int rows = plan.shardRows(cpu.rank());
                    try (DeviceArena io = cpu.newArena(); DistributedAttention attn = DistributedAttention.create(plan, dev)) {
                        TensorView[] x = new TensorView[4];
                        for (int i = 0; i < 4; i++) {
                            x[i] = tensor(io, shape, rows, 31L * cpu.rank() + i);
                        }
                        CapturedLayer layer = attn.capture(x[0], x[1], x[2], x[3]);
                        String name = plan + (refuse ? " refused" : " captured") + ", rank " + cpu.rank();
                        assertEquals(refuse ? CapturedLayer.Mode.EAGER : CapturedLayer.Mode.GRAPH, layer.replayMode(), name);
                        assertTrue(layer.replayReason().contains(refuse ? "stand-in refusal" : "7 graph operations"),
                                name + ": " + layer.replayReason());
                        Stream caller = io.createStream("caller");
                        layer.replay(caller);
                        caller.synchronize(name + " replay");
                        float[] replayed = read(x[3]);
                        attn.forward(x[0], x[1], x[2], x[3]);
                        attn.stream().synchronize(name + " forward");
                        assertArrayEquals(read(x[3]), replayed, name + ": replay differs from forward");
                        assertEquals(refuse ? 0 : 1, capture.launches, name + ": graph launches");
                    }
                }
                return null;
            });
        }
    }

    @Test
    void closingTheLayerClosesEveryOpenCapturedLayerEvenWhenOneFailsAndNotOnesClosedAlready() {
        Topology topology = Topology.of(1, 1);
        AttentionShape shape = AttentionShape.of(1, 8, 4, 16);
        Plan plan = Planner.withDefaults().best(shape, topology, Method.USP);
        try (CpuWorld world = CpuWorld.create(topology)) {
            world.run(cpu -> {
                StandInCapture capture = new StandInCapture(false, true);
                try (DeviceArena io = cpu.newArena()) {
                    DistributedAttention attn = DistributedAttention.create(plan, new WithCapture(cpu, capture));
                    TensorView[] x = new TensorView[4];
                    for (int i = 0; i < 4; i++) {
                        x[i] = tensor(io, shape, 8, i);
                    }
                    CapturedLayer first = attn.capture(x[0], x[1], x[2], x[3]);
                    List<CapturedLayer> open = List.of(attn.capture(x[0], x[1], x[2], x[3]),
                            attn.capture(x[0], x[1], x[2], x[3]));
                    assertThrows(IllegalStateException.class, first::close, "the stand-in's close fails");
                    assertEquals(1, capture.closes, "the first captured layer, closed by its user");
                    IllegalStateException e = assertThrows(IllegalStateException.class, attn::close);
                    assertEquals(3, capture.closes, "both open captured layers closed, the first not again: " + e);
                    assertEquals(1, e.getSuppressed().length, "the second failure is kept: " + e);
                    assertThrows(InvalidStateException.class, () -> attn.forward(x[0], x[1], x[2], x[3]),
                            "the layer is closed after all");
                    open.forEach(l -> assertThrows(InvalidStateException.class, l::replay, "replay after close"));
                }
                return null;
            });
        }
    }
}
