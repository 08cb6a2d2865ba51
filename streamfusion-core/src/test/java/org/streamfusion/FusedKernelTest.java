package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.streamfusion.spi.AttentionState;
import org.streamfusion.backend.Buffer;
import org.streamfusion.spi.Chunks;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.spi.KvChunk;
import org.streamfusion.spi.QChunk;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.cpu.CpuBuffer;
import org.streamfusion.cpu.CpuRankDevice;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ReferenceAttention;

/** The CPU fused multi-Q/multi-KV kernel against float64 attention (docs/algorithms.md, section 2). */
class FusedKernelTest {
    private static final int H = 3;
    private static final int D = 16;
    private static final int[] Q_ROWS = {1, 7, 20, 5};
    private static final int[] KV_ROWS = {13, 1, 30};

    @Test
    void raggedQChunksAgainstRaggedKvChunksEqualAttentionOverTheConcatenation() {
        check(false);
    }

    @Test
    void stateCarriedAcrossTwoLaunchesEqualsOneLaunchOverAllChunks() {
        check(true);
    }

    private static void check(boolean split) {
        try (CpuWorld w = CpuWorld.create(Topology.of(1, 1))) {
            CpuRankDevice dev = w.device(0);
            try (DeviceArena arena = dev.newArena()) {
                Stream s = arena.createStream("compute");
                int sq = java.util.Arrays.stream(Q_ROWS).sum();
                int skv = java.util.Arrays.stream(KV_ROWS).sum();
                AttentionShape qShape = AttentionShape.of(1, sq, H, D);
                AttentionShape kvShape = AttentionShape.of(1, skv, H, D);
                Inputs qi = Inputs.fresh(qShape);
                Inputs kvi = Inputs.fresh(kvShape);
                List<QChunk> qs = new ArrayList<>();
                List<Buffer> outs = new ArrayList<>();
                int off = 0;
                for (int rows : Q_ROWS) {
                    TensorView q = upload(arena, java.util.Arrays.copyOfRange(qi.q, off * H * D, (off + rows) * H * D), rows);
                    AttentionState st = AttentionState.allocate(arena,
                            new Chunks(arena.allocate((long) rows * H * D, DType.F32), 1, 1, rows, H, D)).get(0);
                    Buffer ob = arena.allocate((long) rows * H * D, DType.F32);
                    outs.add(ob);
                    qs.add(new QChunk(q, st, TensorView.contiguous(ob, 1, rows, H, D)));
                    off += rows;
                }
                List<KvChunk> kvs = new ArrayList<>();
                off = 0;
                for (int rows : KV_ROWS) {
                    kvs.add(new KvChunk(
                            upload(arena, java.util.Arrays.copyOfRange(kvi.k, off * H * D, (off + rows) * H * D), rows),
                            upload(arena, java.util.Arrays.copyOfRange(kvi.v, off * H * D, (off + rows) * H * D), rows)));
                    off += rows;
                }
                double scale = 1 / Math.sqrt(D);
                if (split) {
                    dev.kernels().attention(qs, kvs.subList(0, 2), scale, true, false, s);
                    dev.kernels().attention(qs, kvs.subList(2, 3), scale, false, true, s);
                } else {
                    dev.kernels().attention(qs, kvs, scale, true, true, s);
                }
                s.synchronize("kernel");
                double[] ref = ReferenceAttention.attention(qi.q, kvi.k, kvi.v, 1, sq, skv, H, D, scale);
                float[] out = new float[sq * H * D];
                off = 0;
                for (Buffer ob : outs) {
                    float[] part = ((CpuBuffer) ob).read();
                    System.arraycopy(part, 0, out, off, part.length);
                    off += part.length;
                }
                double err = ReferenceAttention.relativeError(out, ref);
                assertTrue(err <= 1e-6, "relative error " + err + " (seeds " + qi.seed + ", " + kvi.seed + ")");
            }
        }
    }

    private static TensorView upload(DeviceArena arena, float[] data, int rows) {
        Buffer b = arena.allocate(data.length, DType.F32);
        ((CpuBuffer) b).write(data);
        return TensorView.contiguous(b, 1, rows, H, D);
    }
}
