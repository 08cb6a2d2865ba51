package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
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
 * The caller's own tensors and stream (docs/embedding.md): a layer reads Q, K, V from the caller's memory
 * (here one fused {@code [B, S_local, 3, H, D]} buffer, so the views are strided), writes O into the caller's
 * memory, and joins the caller's stream; it equals float64 attention on every method. Misuse is refused with
 * the value and the rule.
 */
class CallerTensorsTest {
    @ParameterizedTest(name = "{0}")
    @EnumSource(Method.class)
    void aLayerOnFusedCallerMemoryAndTheCallersStreamEqualsFloat64Attention(Method method) throws Exception {
        Topology topology = Topology.of(2, 2);
        AttentionShape shape = AttentionShape.of(2, 12, 8, 16);
        Plan plan = Planner.withDefaults().best(shape, topology, method);
        Inputs in = Inputs.fresh(shape);
        int n = topology.worldSize();
        int sl = plan.localSeqLen();
        int h = shape.heads();
        int d = shape.headDim();
        double[] ref = ReferenceAttention.attention(in.q, in.k, in.v, shape.batch(), shape.seqLen(), h, d,
                shape.softmaxScale());
        float[] out = new float[in.q.length];
        java.nio.file.Path jfr;
        try (jdk.jfr.Recording recording = new jdk.jfr.Recording();
                CpuWorld world = CpuWorld.create(topology)) {
            recording.enable("org.streamfusion.Layer").withoutThreshold();
            recording.start();
            List<float[]> shards = world.run(dev -> {
                int g = dev.rank();
                long tokens = (long) shape.batch() * sl;
                try (Arena caller = Arena.ofShared(); DeviceArena streams = dev.newArena();
                        DistributedAttention attn = DistributedAttention.create(plan, dev)) {
                    MemorySegment qkv = caller.allocate(tokens * 3 * h * d * Float.BYTES, 64);
                    MemorySegment o = caller.allocate(tokens * h * d * Float.BYTES, 64);
                    float[][] global = {in.q, in.k, in.v};
                    for (int t = 0; t < 3; t++) {
                        float[] shard = ShardedAttention.shard(global[t], shape, n, g);
                        for (long token = 0; token < tokens; token++) {
                            MemorySegment.copy(shard, (int) (token * h * d), qkv, ValueLayout.JAVA_FLOAT,
                                    ((token * 3 + t) * h * d) * Float.BYTES, h * d);
                        }
                    }
                    TensorView[] x = new TensorView[3];
                    for (int t = 0; t < 3; t++) {
                        x[t] = dev.wrap(qkv.asSlice((long) t * h * d * Float.BYTES), shape.batch(), sl, h, d,
                                (long) sl * 3 * h * d, 3L * h * d, d);
                    }
                    Stream callerStream = streams.createStream("caller");
                    attn.forward(x[0], x[1], x[2], dev.wrap(o, shape.batch(), sl, h, d), callerStream);
                    callerStream.synchronize("rank " + g + " caller's stream");
                    return o.toArray(ValueLayout.JAVA_FLOAT);
                }
            });
            for (int g = 0; g < n; g++) {
                ShardedAttention.unshard(shards.get(g), out, shape, n, g);
            }
            recording.stop();
            jfr = java.nio.file.Files.createTempFile("caller", ".jfr");
            recording.dump(jfr);
        }
        double err = ReferenceAttention.relativeError(out, ref);
        assertTrue(err <= ExactnessTest.TOLERANCE, plan + " on caller memory (seed " + in.seed + "): error " + err);
        // No copy beyond the method's own packing and unpacking: 4 per head group a rank exchanges (Q, K, V packed,
        // O unpacked); with u = 1 the Ulysses and ring methods read Q and write O in place and pack K, V only.
        DeviceMesh mesh = plan.mesh();
        boolean torus = method == Method.TORUS_TWO_SIDED || method == Method.STREAMFUSION;
        long own = torus ? 4L * mesh.ulysses() * mesh.torus() : mesh.ulysses() > 1 ? 4L * mesh.ulysses() : 2;
        List<jdk.jfr.consumer.RecordedEvent> events = jdk.jfr.consumer.RecordingFile.readAllEvents(jfr).stream()
                .filter(e -> e.getEventType().getName().equals("org.streamfusion.Layer")).toList();
        java.nio.file.Files.delete(jfr);
        assertTrue(events.size() == n, plan + ": " + events.size() + " layer events");
        for (jdk.jfr.consumer.RecordedEvent e : events) {
            assertTrue(e.getLong("copies") == own, plan + ", rank " + e.getInt("rank") + ": " + e.getLong("copies")
                    + " copies enqueued, the method's own are " + own);
        }
    }

    @Test
    void misuseOfCallerMemoryIsRefusedNamingTheValueAndTheRule() {
        try (CpuWorld world = CpuWorld.create(Topology.of(1, 1)); Arena arena = Arena.ofShared()) {
            CpuRankDevice dev = world.device(0);
            MemorySegment m = arena.allocate(4096, 64);
            refused(() -> dev.wrap(MemorySegment.ofArray(new float[1024]), 1, 4, 2, 16), "heap segment", "native memory");
            refused(() -> dev.wrap(m.asSlice(2), 1, 4, 2, 16), "not 4-byte aligned", "4-byte boundary");
            refused(() -> dev.wrap(m, 1, 64, 2, 16), "needs 8192 bytes; the memory has 4096", "fits its memory");
            refused(() -> dev.wrap(m, 1, 4, 2, 16, 128, -32, 16), "strides (128, -32, 16)", "non-negative");
            refused(() -> dev.wrap(m, 1, 4, 2, 16, 128, 32, 8), "for D=16", "no two elements of a tensor share memory");
            refused(() -> dev.wrap(m, 2, 4, 2, 16, 64, 32, 16), "strides (64, 32, 16)", "no two elements");
            refused(() -> dev.wrap(m, 1, 4, 2, 16, 128, 0, 16), "strides (128, 0, 16)", "no two elements");
            // [B, H, S, D] memory viewed as [B, S, H, D] (a transposed layout), and strides of size-1 dimensions,
            // share no element: accepted.
            assertTrue(dev.wrap(m, 1, 4, 2, 16, 128, 16, 64).rows() == 4, "[B, H, S, D] memory as [B, S, H, D]");
            assertTrue(dev.wrap(m, 1, 4, 2, 16, 0, 32, 16).batch() == 1, "any batch stride at B = 1");
            refused(() -> dev.wrap(m, 0, 4, 2, 16), "shape [0, 4, 2, 16]", "positive");
            refused(() -> dev.wrap(null, 1, 4, 2, 16), "memory=null", "native memory");
            try (Arena confined = Arena.ofConfined()) {
                refused(() -> dev.wrap(confined.allocate(4096, 64), 1, 4, 2, 16), "confined to thread", "shared memory");
            }
        }
    }

    @Test
    void anOutputOverlappingAnInputOrAMissingCallerStreamIsRefusedBeforeAnyStep() {
        Topology topology = Topology.of(1, 2);
        AttentionShape shape = AttentionShape.of(1, 8, 4, 16);
        Plan plan = Planner.withDefaults().best(shape, topology, Method.ULYSSES);
        try (CpuWorld world = CpuWorld.create(topology)) {
            world.run(dev -> {
                try (Arena caller = Arena.ofShared(); DistributedAttention attn = DistributedAttention.create(plan, dev)) {
                    MemorySegment m = caller.allocate(4L * 4 * 4 * 16 * Float.BYTES, 64);
                    TensorView q = dev.wrap(m, 1, 4, 4, 16);
                    TensorView k = dev.wrap(m.asSlice(256L * Float.BYTES), 1, 4, 4, 16);
                    TensorView v = dev.wrap(m.asSlice(512L * Float.BYTES), 1, 4, 4, 16);
                    // o starts half-way into v
                    TensorView o = dev.wrap(m.asSlice(640L * Float.BYTES), 1, 4, 4, 16);
                    InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class,
                            () -> attn.forward(q, k, v, o));
                    assertTrue(e.getMessage().contains("overlaps v") && e.rule().contains("shares no memory"),
                            e.getMessage());
                    TensorView free = dev.wrap(m.asSlice(768L * Float.BYTES), 1, 4, 4, 16);
                    e = assertThrows(InvalidConfigurationException.class, () -> attn.forward(q, k, v, free, (Stream) null));
                    assertTrue(e.getMessage().contains("caller=null"), e.getMessage());
                    assertSame(plan, attn.plan());
                    // the layer is still usable: nothing was enqueued by the refused calls
                    attn.forward(q, k, v, free);
                    attn.stream().synchronize("after refusals");
                }
                return null;
            });
        }
    }

    private static void refused(Executable call, String value, String rule) {
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class, call);
        assertTrue(e.getMessage().contains(value) && e.rule().contains(rule), "expected '" + value + "' and rule '" + rule
                + "', got: " + e.getMessage() + " / " + e.rule());
    }
}
