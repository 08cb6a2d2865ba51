package org.streamfusion.cpu;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import org.streamfusion.backend.TensorView;
import org.streamfusion.spi.AttentionState;
import org.streamfusion.spi.KvChunk;
import org.streamfusion.spi.QChunk;

/**
 * One Q chunk folded over KV chunks, in tiles of {@link #TILE_ROWS} query rows of one (batch, head). The
 * arithmetic of each row is that of the scalar definition, step for step: per KV chunk the scores (float64
 * sums in {@code D} order), their maximum, {@code alpha = exp(m - mNew)}, {@code l} and {@code o} rescaled,
 * then {@code p = exp(s - mNew)} ({@link AttentionTiles#exp}) added to {@code l} and {@code p * v} to {@code o} in key order. Tiling only
 * changes which rows are computed together, never a row's order of operations, so every method and mesh that
 * hands the same KV chunks gives the same bits.
 */
final class BlockedAttention {
    /**
     * Query rows per tile: a tile's scaled rows (TILE_ROWS x D doubles) and one register block of keys
     * (D x 16 doubles) stay in L1 while the scores of a KV chunk are formed.
     */
    static final int TILE_ROWS = 32;

    private BlockedAttention() {
    }

    /**
     * Folds every Q chunk of {@code qs} (all of the same B, heads and D as the KV chunks) over {@code kvs}. Keys
     * and values are widened once per (batch, head) for all Q chunks: a Ulysses or Torus launch hands several Q
     * chunks, and widening per chunk repeated that work for each. The (batch, head) pairs are independent and run
     * as parts on {@code pool}: each row is computed by one part in the same order whatever the split, so the
     * bits do not depend on it.
     */
    static void fold(List<QChunk> qs, List<KvChunk> kvs, double scale, boolean init, boolean finalize, AttentionTiles tiles,
            ComputePool pool) {
        if (qs.isEmpty()) {
            return;
        }
        TensorView first = qs.get(0).q();
        int heads = first.heads();
        long work = 0;
        for (QChunk c : qs) {
            for (KvChunk p : kvs) {
                work += (long) c.q().rows() * p.k().rows();
            }
        }
        work *= (long) first.batch() * heads * first.dim();
        pool.forEach(first.batch() * heads, work, () -> {
            Scratch scratch = new Scratch(first.dim(), kvs);
            return pair -> foldHead(qs, kvs, scale, init, finalize, tiles, pair / heads, pair % heads, scratch);
        });
    }

    /** One slice's working memory, reused for each (batch, head) it folds. */
    private static final class Scratch {
        final double[][] kT;
        final double[][] vs;
        final double[] q;
        final double[] acc;
        final double[] m = new double[TILE_ROWS];
        final double[] l = new double[TILE_ROWS];
        final double[] s;
        final int[] active = new int[TILE_ROWS];
        final float[] row;

        Scratch(int d, List<KvChunk> kvs) {
            int maxKeys = 0;
            for (KvChunk p : kvs) {
                maxKeys = Math.max(maxKeys, p.k().rows());
            }
            kT = new double[kvs.size()][];
            vs = new double[kvs.size()][];
            q = new double[TILE_ROWS * d];
            acc = new double[TILE_ROWS * d];
            s = new double[TILE_ROWS * Math.max(1, maxKeys)];
            row = new float[d];
        }
    }

    /** {@link #fold} for one (batch, head). */
    private static void foldHead(List<QChunk> qs, List<KvChunk> kvs, double scale, boolean init, boolean finalize,
            AttentionTiles tiles, int bb, int h, Scratch scratch) {
        int d = qs.get(0).q().dim();
        int chunks = kvs.size();
        double[][] kT = scratch.kT;
        double[][] vs = scratch.vs;
        double[] q = scratch.q;
        double[] acc = scratch.acc;
        double[] m = scratch.m;
        double[] l = scratch.l;
        double[] s = scratch.s;
        int[] active = scratch.active;
        float[] row = scratch.row;
        for (int j = 0; j < chunks; j++) {
            kT[j] = keysTransposed(kvs.get(j).k(), bb, h, kT[j], row);
            vs[j] = values(kvs.get(j).v(), bb, h, vs[j], row);
        }
        for (QChunk c : qs) {
            TensorView qv = c.q();
            AttentionState st = c.state();
            for (int i0 = 0; i0 < qv.rows(); i0 += TILE_ROWS) {
                int rows = Math.min(TILE_ROWS, qv.rows() - i0);
                for (int i = 0; i < rows; i++) {
                    CpuKernels.read(qv, bb, i0 + i, h, row);
                    for (int x = 0; x < d; x++) {
                        q[i * d + x] = row[x] * scale;
                    }
                    if (init) {
                        m[i] = Double.NEGATIVE_INFINITY;
                        l[i] = 0;
                        Arrays.fill(acc, i * d, (i + 1) * d, 0);
                    } else {
                        long si = stateIndex(qv, bb, i0 + i, h);
                        m[i] = CpuKernels.get(st.m(), si);
                        l[i] = CpuKernels.get(st.l(), si);
                        CpuKernels.readState(st.o(), bb, i0 + i, h, acc, i * d);
                    }
                }
                for (int j = 0; j < chunks; j++) {
                    int n = kvs.get(j).k().rows();
                    tiles.scores(q, rows, kT[j], n, d, s);
                    int count = softmaxStep(tiles, s, n, d, rows, m, l, acc, active);
                    tiles.accumulate(s, vs[j], n, d, acc, active, count);
                }
                for (int i = 0; i < rows; i++) {
                    long si = stateIndex(qv, bb, i0 + i, h);
                    CpuKernels.set(st.m(), si, m[i]);
                    CpuKernels.set(st.l(), si, l[i]);
                    CpuKernels.writeState(st.o(), bb, i0 + i, h, acc, i * d, row);
                    if (finalize) {
                        for (int x = 0; x < d; x++) {
                            // l == 0 only for an empty (fully masked) row: output 0. A NaN l gives NaN.
                            row[x] = (float) (l[i] == 0 ? 0 : acc[i * d + x] / l[i]);
                        }
                        CpuKernels.write(c.out(), bb, i0 + i, h, row);
                    }
                }
            }
        }
    }

    /**
     * The online-softmax step of one KV chunk for each row of the tile: turns the row's scores into weights
     * {@code p} in place, updates {@code m}, {@code l} and rescales {@code acc}. Returns how many rows take
     * part ({@code active}); a row whose state stays empty (nothing but {@code -inf} so far) is skipped whole.
     */
    private static int softmaxStep(AttentionTiles tiles, double[] s, int n, int d, int rows, double[] m, double[] l, double[] acc, int[] active) {
        int count = 0;
        for (int i = 0; i < rows; i++) {
            int si = i * n;
            double mNew = Math.max(m[i], tiles.max(s, si, si + n)); // NaN when any score or the carried m is NaN
            if (mNew == Double.NEGATIVE_INFINITY) {
                continue; // nothing but -inf scores so far: the state stays empty
            }
            // exp(m - mNew) of an empty state is 0, not exp(-inf - (-inf)); NaN stays NaN.
            double alpha = m[i] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(m[i] - mNew);
            l[i] *= alpha;
            for (int x = i * d; x < (i + 1) * d; x++) {
                acc[x] *= alpha;
            }
            tiles.exp(s, si, si + n, mNew);
            m[i] = mNew;
            active[count++] = i;
        }
        addRows(s, n, l, active, count);
        return count;
    }

    /**
     * {@code l[i] += p[i*n + r]} for {@code r} in order, for each listed row: four rows at a time, so that four
     * independent chains of adds run together (one row's chain alone waits an add's latency per key); each
     * row's sum is still taken in key order.
     */
    private static void addRows(double[] p, int n, double[] l, int[] active, int count) {
        int c = 0;
        for (; c + 4 <= count; c += 4) {
            int i0 = active[c];
            int i1 = active[c + 1];
            int i2 = active[c + 2];
            int i3 = active[c + 3];
            double l0 = l[i0];
            double l1 = l[i1];
            double l2 = l[i2];
            double l3 = l[i3];
            int p0 = i0 * n;
            int p1 = i1 * n;
            int p2 = i2 * n;
            int p3 = i3 * n;
            for (int r = 0; r < n; r++) {
                l0 += p[p0 + r];
                l1 += p[p1 + r];
                l2 += p[p2 + r];
                l3 += p[p3 + r];
            }
            l[i0] = l0;
            l[i1] = l1;
            l[i2] = l2;
            l[i3] = l3;
        }
        for (; c < count; c++) {
            int i = active[c];
            double li = l[i];
            for (int r = 0; r < n; r++) {
                li += p[i * n + r];
            }
            l[i] = li;
        }
    }

    private static long stateIndex(TensorView qv, int b, int i, int h) {
        return ((long) b * qv.rows() + i) * qv.heads() + h;
    }

    /** Keys of one (batch, head), widened and transposed to {@code [D, keyStride(rows)]}; {@code reuse} when it fits. */
    private static double[] keysTransposed(TensorView k, int b, int h, double[] reuse, float[] row) {
        int n = k.rows();
        int d = k.dim();
        int stride = AttentionTiles.keyStride(n);
        double[] out = reuse != null && reuse.length == stride * d ? reuse : new double[stride * d];
        MemorySegment seg = CpuBuffer.of(k.base()).segment();
        for (int r = 0; r < n; r++) {
            MemorySegment.copy(seg, CpuBuffer.F32, k.offset(b, r, h) * Float.BYTES, row, 0, d);
            for (int x = 0; x < d; x++) {
                out[x * stride + r] = row[x];
            }
        }
        return out;
    }

    /** Values of one (batch, head), widened, {@code [rows, D]}; {@code reuse} when it fits. */
    private static double[] values(TensorView v, int b, int h, double[] reuse, float[] row) {
        int n = v.rows();
        int d = v.dim();
        double[] out = reuse != null && reuse.length == n * d ? reuse : new double[n * d];
        MemorySegment seg = CpuBuffer.of(v.base()).segment();
        for (int r = 0; r < n; r++) {
            MemorySegment.copy(seg, CpuBuffer.F32, v.offset(b, r, h) * Float.BYTES, row, 0, d);
            for (int x = 0; x < d; x++) {
                out[r * d + x] = row[x];
            }
        }
        return out;
    }
}
