package org.streamfusion.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.streamfusion.backend.Buffer;
import org.streamfusion.spi.AttentionState;
import org.streamfusion.spi.Fp8Wire;
import org.streamfusion.spi.KvChunk;
import org.streamfusion.spi.Kernels;
import org.streamfusion.spi.QChunk;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;

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
    private static final float[] EMPTY = new float[0];

    @Override
    public void attention(List<QChunk> q, List<KvChunk> kv, double scale, boolean init, boolean finalize, Stream stream) {
        List<QChunk> qs = List.copyOf(q);
        List<KvChunk> kvs = List.copyOf(kv);
        for (QChunk c : qs) {
            for (KvChunk p : kvs) {
                TensorView k = p.k();
                if (k.batch() != c.q().batch() || k.heads() != c.q().heads() || k.dim() != c.q().dim()) {
                    throw new IllegalArgumentException("KV chunk " + k.shapeString() + " does not fit Q chunk "
                            + c.q().shapeString() + " (rule: same B, heads and D)");
                }
            }
            if (finalize && c.out() == null) {
                throw new IllegalArgumentException("finalize without an output view");
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
            for (QChunk c : qs) {
                fold(c, kvs, scale, init, finalize);
            }
        });
    }

    private static void fold(QChunk c, List<KvChunk> kvs, double scale, boolean init, boolean finalize) {
        TensorView qv = c.q();
        AttentionState st = c.state();
        int d = qv.dim();
        float[] row = new float[d];
        double[] qd = new double[d];
        double[] acc = new double[d];
        for (int bb = 0; bb < qv.batch(); bb++) {
            for (int h = 0; h < qv.heads(); h++) {
                float[][] ks = new float[kvs.size()][];
                float[][] vs = new float[kvs.size()][];
                for (int j = 0; j < kvs.size(); j++) {
                    ks[j] = gather(kvs.get(j).k(), bb, h);
                    vs[j] = gather(kvs.get(j).v(), bb, h);
                }
                for (int i = 0; i < qv.rows(); i++) {
                    read(qv, bb, i, h, row);
                    for (int x = 0; x < d; x++) {
                        qd[x] = row[x] * scale;
                    }
                    long si = ((long) bb * qv.rows() + i) * qv.heads() + h;
                    double m;
                    double l;
                    if (init) {
                        m = Double.NEGATIVE_INFINITY;
                        l = 0;
                        java.util.Arrays.fill(acc, 0);
                    } else {
                        m = get(st.m(), si);
                        l = get(st.l(), si);
                        readState(st.o(), bb, i, h, acc);
                    }
                    for (int j = 0; j < kvs.size(); j++) {
                        float[] kk = ks[j];
                        float[] vv = vs[j];
                        int n = kk.length / d;
                        double[] s = new double[n];
                        double mx = Double.NEGATIVE_INFINITY;
                        for (int r = 0; r < n; r++) {
                            double dot = 0;
                            int base = r * d;
                            for (int x = 0; x < d; x++) {
                                dot += qd[x] * kk[base + x];
                            }
                            s[r] = dot;
                            mx = Math.max(mx, dot);
                        }
                        double mNew = Math.max(m, mx); // NaN when any score or the carried m is NaN
                        if (mNew == Double.NEGATIVE_INFINITY) {
                            continue; // nothing but -inf scores so far: the state stays empty
                        }
                        // exp(m - mNew) of an empty state is 0, not exp(-inf - (-inf)); NaN stays NaN.
                        double alpha = m == Double.NEGATIVE_INFINITY ? 0 : Math.exp(m - mNew);
                        l *= alpha;
                        for (int x = 0; x < d; x++) {
                            acc[x] *= alpha;
                        }
                        for (int r = 0; r < n; r++) {
                            double p = Math.exp(s[r] - mNew);
                            l += p;
                            int base = r * d;
                            for (int x = 0; x < d; x++) {
                                acc[x] += p * vv[base + x];
                            }
                        }
                        m = mNew;
                    }
                    set(st.m(), si, m);
                    set(st.l(), si, l);
                    writeState(st.o(), bb, i, h, acc, row);
                    if (finalize) {
                        for (int x = 0; x < d; x++) {
                            // l == 0 only for an empty (fully masked) row: output 0. A NaN l gives NaN.
                            row[x] = (float) (l == 0 ? 0 : acc[x] / l);
                        }
                        write(c.out(), bb, i, h, row);
                    }
                }
            }
        }
    }

    /** Rows of one (batch, head) of a view, packed {@code [rows, D]}. */
    private static float[] gather(TensorView v, int b, int h) {
        if (v.rows() == 0) {
            return EMPTY;
        }
        float[] out = new float[v.rows() * v.dim()];
        MemorySegment seg = CpuBuffer.of(v.base()).segment();
        for (int r = 0; r < v.rows(); r++) {
            MemorySegment.copy(seg, CpuBuffer.F32, v.offset(b, r, h) * Float.BYTES, out, r * v.dim(), v.dim());
        }
        return out;
    }

    private static void read(TensorView v, int b, int r, int h, float[] row) {
        MemorySegment.copy(CpuBuffer.of(v.base()).segment(), CpuBuffer.F32, v.offset(b, r, h) * Float.BYTES, row, 0, v.dim());
    }

    private static void write(TensorView v, int b, int r, int h, float[] row) {
        MemorySegment.copy(row, 0, CpuBuffer.of(v.base()).segment(), CpuBuffer.F32, v.offset(b, r, h) * Float.BYTES, v.dim());
    }

    private static boolean wide(TensorView v) {
        return v.base().dtype() == org.streamfusion.DType.F64;
    }

    /** One row of the state's {@code o}, widened to double. */
    private static void readState(TensorView v, int b, int r, int h, double[] acc) {
        MemorySegment seg = CpuBuffer.of(v.base()).segment();
        long at = v.offset(b, r, h);
        for (int x = 0; x < v.dim(); x++) {
            acc[x] = wide(v) ? seg.getAtIndex(CpuBuffer.F64, at + x) : seg.getAtIndex(CpuBuffer.F32, at + x);
        }
    }

    /** One row of the state's {@code o}, in the buffer's type ({@code scratch} is an fp32 row). */
    private static void writeState(TensorView v, int b, int r, int h, double[] acc, float[] scratch) {
        if (wide(v)) {
            MemorySegment.copy(acc, 0, CpuBuffer.of(v.base()).segment(), CpuBuffer.F64, v.offset(b, r, h) * Double.BYTES,
                    v.dim());
            return;
        }
        for (int x = 0; x < v.dim(); x++) {
            scratch[x] = (float) acc[x];
        }
        write(v, b, r, h, scratch);
    }

    private static double get(org.streamfusion.backend.Buffer b, long i) {
        CpuBuffer c = CpuBuffer.of(b);
        return c.dtype() == org.streamfusion.DType.F64 ? c.segment().getAtIndex(CpuBuffer.F64, i)
                : c.segment().getAtIndex(CpuBuffer.F32, i);
    }

    private static void set(org.streamfusion.backend.Buffer b, long i, double x) {
        CpuBuffer c = CpuBuffer.of(b);
        if (c.dtype() == org.streamfusion.DType.F64) {
            c.segment().setAtIndex(CpuBuffer.F64, i, x);
        } else {
            c.segment().setAtIndex(CpuBuffer.F32, i, (float) x);
        }
    }

    @Override
    public void copy(TensorView src, TensorView dst, Stream stream) {
        if (!src.sameShape(dst)) {
            throw new IllegalArgumentException("copy from " + src.shapeString() + " to " + dst.shapeString());
        }
        CpuBuffer.of(src.base(), "the copy's source buffer");
        CpuBuffer.of(dst.base(), "the copy's destination buffer");
        CpuStream.of(stream).enqueue("copy", () -> {
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

    @Override
    public void finalizeState(QChunk c, Stream stream) {
        if (c.out() == null) {
            throw new IllegalArgumentException("finalising a Q chunk without an output view");
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
                        readState(st.o(), bb, i, h, acc);
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
    public void quantizeFp8(Buffer src, Buffer wire, int block, Stream stream) {
        CpuBuffer s = CpuBuffer.of(src, "the fp8 quantize's source buffer");
        CpuBuffer w = CpuBuffer.of(wire, "the fp8 wire buffer");
        long n = s.length();
        Fp8Wire.check(n, block);
        Fp8Wire.checkPair(s, w, block);
        CpuStream.of(stream).enqueue("fp8 quantize", () -> {
            MemorySegment in = s.segment();
            MemorySegment out = w.segment();
            long scales = Fp8Wire.scalesOffset(n);
            for (long b = 0; b < n / block; b++) {
                float amax = 0f;
                for (long i = b * block; i < (b + 1) * block; i++) {
                    float x = in.getAtIndex(CpuBuffer.F32, i);
                    if (Float.isFinite(x)) {
                        amax = Math.max(amax, Math.abs(x));
                    }
                }
                float scale = Fp8Wire.scale(amax);
                out.set(ValueLayout.JAVA_FLOAT, scales + 4 * b, scale);
                for (long i = b * block; i < (b + 1) * block; i++) {
                    out.set(ValueLayout.JAVA_BYTE, i, Fp8Wire.encode(in.getAtIndex(CpuBuffer.F32, i) / scale));
                }
            }
        });
    }

    @Override
    public void dequantizeFp8(Buffer wire, Buffer dst, int block, Stream stream) {
        CpuBuffer w = CpuBuffer.of(wire, "the fp8 wire buffer");
        CpuBuffer d = CpuBuffer.of(dst, "the fp8 dequantize's destination buffer");
        long n = d.length();
        Fp8Wire.check(n, block);
        Fp8Wire.checkPair(d, w, block);
        CpuStream.of(stream).enqueue("fp8 dequantize", () -> {
            MemorySegment in = w.segment();
            MemorySegment out = d.segment();
            long scales = Fp8Wire.scalesOffset(n);
            for (long b = 0; b < n / block; b++) {
                float scale = in.get(ValueLayout.JAVA_FLOAT, scales + 4 * b);
                for (long i = b * block; i < (b + 1) * block; i++) {
                    out.setAtIndex(CpuBuffer.F32, i, Fp8Wire.decode(in.get(ValueLayout.JAVA_BYTE, i)) * scale);
                }
            }
        });
    }
}
