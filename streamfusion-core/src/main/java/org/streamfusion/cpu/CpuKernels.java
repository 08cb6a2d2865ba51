package org.streamfusion.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.streamfusion.DType;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.spi.AttentionState;
import org.streamfusion.spi.Fp8Layout;
import org.streamfusion.spi.Fp8Wire;
import org.streamfusion.spi.Kernels;
import org.streamfusion.spi.KvChunk;
import org.streamfusion.spi.QChunk;

/**
 * The fused multi-Q/multi-KV attention and the copy kernel, in Java. fp32 storage, fp64 arithmetic. The
 * state between launches is kept in the type of its buffers: fp64 as this backend allocates it (the reference
 * must not lose what the scores carry, whatever their magnitude; an fp32 {@code m} of 1e4 is off by 1e-3 and
 * weights whole chunks wrongly), fp32 when a caller hands in fp32 state.
 *
 * <p>Special values follow float64 attention: a NaN score, or a {@code +inf} one (its {@code exp(s - m)} is
 * {@code exp(inf - inf)}), makes the row NaN; the NaN is carried in {@code m} and {@code l} to the end. A row
 * whose every score is {@code -inf} is a fully masked row: empty state, output 0 (docs/algorithms.md, section 2).
 */
final class CpuKernels implements Kernels {
    private final AttentionTiles tiles = AttentionTiles.selected();
    private final ComputePool pool;

    CpuKernels(ComputePool pool) {
        this.pool = pool;
    }

    @Override
    public void attention(List<QChunk> q, List<KvChunk> kv, double scale, boolean init, boolean finalize, Stream stream) {
        List<QChunk> qs = List.copyOf(q);
        List<KvChunk> kvs = List.copyOf(kv);
        for (QChunk c : qs) {
            for (KvChunk p : kvs) {
                TensorView k = p.k();
                if (k.batch() != c.q().batch() || k.heads() != c.q().heads() || k.dim() != c.q().dim()) {
                    throw new InvalidArgumentException("KV chunk " + k.shapeString() + " does not fit Q chunk "
                            + c.q().shapeString() + " (rule: same B, heads and D)");
                }
            }
            if (finalize && c.out() == null) {
                throw new InvalidArgumentException("finalize without an output view");
            }
            CpuBuffer.of(c.q().base(), "a Q chunk's buffer");
            if (c.out() != null) {
                CpuBuffer.of(c.out().base(), "an output chunk's buffer");
            }
        }
        for (KvChunk p : kvs) {
            CpuBuffer.of(p.k().base(), "a K chunk's buffer");
            CpuBuffer.of(p.v().base(), "a V chunk's buffer");
        }
        CpuStream.of(stream).enqueue("attention", () -> {
            BlockedAttention.fold(qs, kvs, scale, init, finalize, tiles, pool);
        });
    }

    static void read(TensorView v, int b, int r, int h, float[] row) {
        MemorySegment.copy(CpuBuffer.of(v.base()).segment(), CpuBuffer.F32, v.offset(b, r, h) * Float.BYTES, row, 0, v.dim());
    }

    static void write(TensorView v, int b, int r, int h, float[] row) {
        MemorySegment.copy(row, 0, CpuBuffer.of(v.base()).segment(), CpuBuffer.F32, v.offset(b, r, h) * Float.BYTES, v.dim());
    }

    private static boolean wide(TensorView v) {
        return v.base().dtype() == DType.F64;
    }

    /** One row of the state's {@code o}, widened to double, into {@code acc} from {@code at}. */
    static void readState(TensorView v, int b, int r, int h, double[] acc, int at) {
        MemorySegment seg = CpuBuffer.of(v.base()).segment();
        long from = v.offset(b, r, h);
        boolean wide = wide(v);
        for (int x = 0; x < v.dim(); x++) {
            acc[at + x] = wide ? seg.getAtIndex(CpuBuffer.F64, from + x) : seg.getAtIndex(CpuBuffer.F32, from + x);
        }
    }

    /** One row of the state's {@code o} from {@code acc[at..]}, in the buffer's type ({@code scratch}: an fp32 row). */
    static void writeState(TensorView v, int b, int r, int h, double[] acc, int at, float[] scratch) {
        if (wide(v)) {
            MemorySegment.copy(acc, at, CpuBuffer.of(v.base()).segment(), CpuBuffer.F64, v.offset(b, r, h) * Double.BYTES,
                    v.dim());
            return;
        }
        for (int x = 0; x < v.dim(); x++) {
            scratch[x] = (float) acc[at + x];
        }
        write(v, b, r, h, scratch);
    }

    static double get(Buffer b, long i) {
        CpuBuffer c = CpuBuffer.of(b);
        return c.dtype() == DType.F64 ? c.segment().getAtIndex(CpuBuffer.F64, i)
                : c.segment().getAtIndex(CpuBuffer.F32, i);
    }

    static void set(Buffer b, long i, double x) {
        CpuBuffer c = CpuBuffer.of(b);
        if (c.dtype() == DType.F64) {
            c.segment().setAtIndex(CpuBuffer.F64, i, x);
        } else {
            c.segment().setAtIndex(CpuBuffer.F32, i, (float) x);
        }
    }

    @Override
    public void copy(TensorView src, TensorView dst, Stream stream) {
        if (!src.sameShape(dst)) {
            throw new InvalidArgumentException("copy from " + src.shapeString() + " to " + dst.shapeString());
        }
        CpuBuffer.of(src.base(), "the copy's source buffer");
        CpuBuffer.of(dst.base(), "the copy's destination buffer");
        CpuStream.of(stream).enqueue("copy", () -> {
            if (src.headStride() == src.dim() && dst.headStride() == dst.dim() && !src.base().overlaps(dst.base())) {
                copyRows(src, dst); // a row's heads are contiguous on both sides: one copy per row
                return;
            }
            float[] row = new float[src.dim()];
            for (int b = 0; b < src.batch(); b++) {
                for (int r = 0; r < src.rows(); r++) {
                    for (int h = 0; h < src.heads(); h++) {
                        read(src, b, r, h, row);
                        write(dst, b, r, h, row);
                    }
                }
            }
        });
    }

    /** Each {@code (batch, row)}'s {@code heads * dim} elements in one copy; src and dst do not overlap. */
    private static void copyRows(TensorView src, TensorView dst) {
        MemorySegment from = CpuBuffer.of(src.base()).segment();
        MemorySegment to = CpuBuffer.of(dst.base()).segment();
        long bytes = (long) src.heads() * src.dim() * Float.BYTES;
        for (int b = 0; b < src.batch(); b++) {
            for (int r = 0; r < src.rows(); r++) {
                MemorySegment.copy(from, src.offset(b, r, 0) * Float.BYTES, to, dst.offset(b, r, 0) * Float.BYTES, bytes);
            }
        }
    }

    @Override
    public void finalizeState(QChunk c, Stream stream) {
        if (c.out() == null) {
            throw new InvalidArgumentException("finalising a Q chunk without an output view");
        }
        CpuStream.of(stream).enqueue("finalize", () -> {
            TensorView qv = c.q();
            AttentionState st = c.state();
            double[] acc = new double[qv.dim()];
            float[] row = new float[qv.dim()];
            for (int bb = 0; bb < qv.batch(); bb++) {
                for (int i = 0; i < qv.rows(); i++) {
                    for (int h = 0; h < qv.heads(); h++) {
                        long si = ((long) bb * qv.rows() + i) * qv.heads() + h;
                        double l = get(st.l(), si);
                        readState(st.o(), bb, i, h, acc, 0);
                        for (int x = 0; x < row.length; x++) {
                            row[x] = (float) (l == 0 ? 0 : acc[x] / l);
                        }
                        write(c.out(), bb, i, h, row);
                    }
                }
            }
        });
    }

    @Override
    public void quantizeFp8(Buffer src, Buffer wire, Fp8Layout layout, Buffer counts, Stream stream) {
        CpuBuffer s = CpuBuffer.of(src, "the fp8 quantize's source buffer");
        CpuBuffer w = CpuBuffer.of(wire, "the fp8 wire buffer");
        CpuBuffer c = CpuBuffer.of(counts, "the fp8 counters");
        layout.checkPair(s, w);
        Fp8Layout.checkCounts(c);
        CpuStream.of(stream).enqueue("fp8 quantize", () -> CentredFp8.quantize(s.segment(), w.segment(), layout,
                c.segment()));
    }

    @Override
    public void dequantizeFp8(Buffer wire, Buffer dst, Fp8Layout layout, Stream stream) {
        CpuBuffer w = CpuBuffer.of(wire, "the fp8 wire buffer");
        CpuBuffer d = CpuBuffer.of(dst, "the fp8 dequantize's destination buffer");
        layout.checkPair(d, w);
        CpuStream.of(stream).enqueue("fp8 dequantize", () -> CentredFp8.dequantize(w.segment(), d.segment(), layout));
    }

    @Override
    public long[] readFp8Counts(Buffer counts) {
        CpuBuffer c = CpuBuffer.of(counts, "the fp8 counters");
        Fp8Layout.checkCounts(c);
        return c.segment().asSlice(0, 16).toArray(ValueLayout.JAVA_LONG);
    }
}
