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

    static void fold(QChunk c, List<KvChunk> kvs, double scale, boolean init, boolean finalize, AttentionTiles tiles) {
        TensorView qv = c.q();
        AttentionState st = c.state();
        int d = qv.dim();
        int chunks = kvs.size();
        int maxKeys = 0;
        for (KvChunk p : kvs) {
            maxKeys = Math.max(maxKeys, p.k().rows());
        }
        double[][] kT = new double[chunks][];
        double[][] vs = new double[chunks][];
        double[] q = new double[TILE_ROWS * d];
        double[] acc = new double[TILE_ROWS * d];
        double[] m = new double[TILE_ROWS];
        double[] l = new double[TILE_ROWS];
        double[] s = new double[TILE_ROWS * Math.max(1, maxKeys)];
        int[] active = new int[TILE_ROWS];
        float[] row = new float[d];
        for (int bb = 0; bb < qv.batch(); bb++) {
            for (int h = 0; h < qv.heads(); h++) {
                for (int j = 0; j < chunks; j++) {
                    kT[j] = keysTransposed(kvs.get(j).k(), bb, h, kT[j], row);
                    vs[j] = values(kvs.get(j).v(), bb, h, vs[j], row);
                }
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
            double mx = Double.NEGATIVE_INFINITY;
            for (int r = 0; r < n; r++) {
                mx = Math.max(mx, s[si + r]);
            }
            double mNew = Math.max(m[i], mx); // NaN when any score or the carried m is NaN
            if (mNew == Double.NEGATIVE_INFINITY) {
                continue; // nothing but -inf scores so far: the state stays empty
            }
            // exp(m - mNew) of an empty state is 0, not exp(-inf - (-inf)); NaN stays NaN.
            double alpha = m[i] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(m[i] - mNew);
            double li = l[i] * alpha;
            for (int x = i * d; x < (i + 1) * d; x++) {
                acc[x] *= alpha;
            }
            tiles.exp(s, si, si + n, mNew);
            for (int r = 0; r < n; r++) {
                li += s[si + r];
            }
            l[i] = li;
            m[i] = mNew;
            active[count++] = i;
        }
        return count;
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
