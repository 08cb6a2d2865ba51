package org.streamfusion.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link AttentionTiles} on the Vector API. Register blocks of 4 rows by 2 vectors: a score block holds 2L
 * keys of 4 query rows and walks {@code D}; an output block holds 2L elements of {@code D} of 4 rows and walks
 * the keys. Each lane is one element's sum in the scalar order, with a separate multiply and add ({@code mul}
 * then {@code add}, never fused), so the bits are the scalar tiles' bits. Loaded only where
 * {@code jdk.incubator.vector} is present.
 */
final class VectorTiles extends AttentionTiles {
    private static final VectorSpecies<Double> SPECIES = DoubleVector.SPECIES_PREFERRED;
    private static final int L = SPECIES.length();

    VectorTiles() {
    }

    @Override
    String describe() {
        return "vector " + SPECIES.vectorBitSize() + "-bit";
    }

    @Override
    boolean usable() {
        return L >= 2;
    }

    @Override
    void scores(double[] q, int rows, double[] kT, int n, int d, double[] s) {
        int stride = keyStride(n);
        int r0 = 0;
        for (; r0 + 2 * L <= n; r0 += 2 * L) {
            int i = 0;
            for (; i + 4 <= rows; i += 4) {
                scoreBlock4(q, i, kT, n, stride, d, s, r0);
            }
            for (; i < rows; i++) {
                scoreBlock1(q, i, kT, n, stride, d, s, r0);
                scoreBlock1(q, i, kT, n, stride, d, s, r0 + L);
            }
        }
        for (; r0 + L <= n; r0 += L) {
            for (int i = 0; i < rows; i++) {
                scoreBlock1(q, i, kT, n, stride, d, s, r0);
            }
        }
        for (int r = r0; r < n; r++) { // the last keys, fewer than a vector
            for (int i = 0; i < rows; i++) {
                double dot = 0;
                for (int x = 0; x < d; x++) {
                    dot += q[i * d + x] * kT[x * stride + r];
                }
                s[i * n + r] = dot;
            }
        }
    }

    private static void scoreBlock4(double[] q, int i, double[] kT, int n, int stride, int d, double[] s, int r0) {
        DoubleVector a00 = DoubleVector.zero(SPECIES);
        DoubleVector a01 = a00;
        DoubleVector a10 = a00;
        DoubleVector a11 = a00;
        DoubleVector a20 = a00;
        DoubleVector a21 = a00;
        DoubleVector a30 = a00;
        DoubleVector a31 = a00;
        int q0 = i * d;
        for (int x = 0; x < d; x++) {
            DoubleVector k0 = DoubleVector.fromArray(SPECIES, kT, x * stride + r0);
            DoubleVector k1 = DoubleVector.fromArray(SPECIES, kT, x * stride + r0 + L);
            DoubleVector b0 = DoubleVector.broadcast(SPECIES, q[q0 + x]);
            DoubleVector b1 = DoubleVector.broadcast(SPECIES, q[q0 + d + x]);
            DoubleVector b2 = DoubleVector.broadcast(SPECIES, q[q0 + 2 * d + x]);
            DoubleVector b3 = DoubleVector.broadcast(SPECIES, q[q0 + 3 * d + x]);
            a00 = a00.add(b0.mul(k0));
            a01 = a01.add(b0.mul(k1));
            a10 = a10.add(b1.mul(k0));
            a11 = a11.add(b1.mul(k1));
            a20 = a20.add(b2.mul(k0));
            a21 = a21.add(b2.mul(k1));
            a30 = a30.add(b3.mul(k0));
            a31 = a31.add(b3.mul(k1));
        }
        int s0 = i * n + r0;
        a00.intoArray(s, s0);
        a01.intoArray(s, s0 + L);
        a10.intoArray(s, s0 + n);
        a11.intoArray(s, s0 + n + L);
        a20.intoArray(s, s0 + 2 * n);
        a21.intoArray(s, s0 + 2 * n + L);
        a30.intoArray(s, s0 + 3 * n);
        a31.intoArray(s, s0 + 3 * n + L);
    }

    private static void scoreBlock1(double[] q, int i, double[] kT, int n, int stride, int d, double[] s, int r0) {
        DoubleVector a = DoubleVector.zero(SPECIES);
        for (int x = 0; x < d; x++) {
            a = a.add(DoubleVector.broadcast(SPECIES, q[i * d + x]).mul(DoubleVector.fromArray(SPECIES, kT, x * stride + r0)));
        }
        a.intoArray(s, i * n + r0);
    }

    /** Lanes across keys: {@code MAX} is {@link Math#max} per lane, and a maximum does not depend on order. */
    @Override
    double max(double[] s, int from, int to) {
        int r = from;
        double mx = Double.NEGATIVE_INFINITY;
        if (to - from >= L) {
            DoubleVector m = DoubleVector.broadcast(SPECIES, Double.NEGATIVE_INFINITY);
            for (; r + L <= to; r += L) {
                m = m.lanewise(VectorOperators.MAX, DoubleVector.fromArray(SPECIES, s, r));
            }
            mx = m.reduceLanes(VectorOperators.MAX);
        }
        return Math.max(mx, super.max(s, r, to));
    }

    @Override
    void exp(double[] s, int from, int to, double shift) {
        int r = from;
        for (; r + L <= to; r += L) {
            DoubleVector x = DoubleVector.fromArray(SPECIES, s, r).sub(shift);
            if (!x.compare(VectorOperators.GE, EXP_LOW).and(x.compare(VectorOperators.LE, EXP_HIGH)).allTrue()) {
                super.exp(s, r, r + L, shift); // a lane outside the formula's range, or NaN: the scalar path
                continue;
            }
            DoubleVector t = x.mul(LOG2E).add(ROUND);
            DoubleVector k = t.sub(ROUND);
            DoubleVector y = x.sub(k.mul(LN2_HI));
            y = y.sub(k.mul(LN2_LO));
            DoubleVector p = DoubleVector.broadcast(SPECIES, TAYLOR[0]);
            for (int i = 1; i < TAYLOR.length; i++) {
                p = p.mul(y).add(TAYLOR[i]);
            }
            p = p.mul(y).add(1);
            p = p.mul(y).add(1);
            DoubleVector twoToK = t.viewAsIntegralLanes().add(1023).lanewise(VectorOperators.LSHL, 52).viewAsFloatingLanes()
                    .reinterpretAsDoubles();
            p.mul(twoToK).intoArray(s, r);
        }
        super.exp(s, r, to, shift);
    }

    @Override
    void accumulate(double[] p, double[] v, int n, int d, double[] acc, int[] rows, int count) {
        int c = 0;
        for (; c + 4 <= count; c += 4) {
            int x0 = 0;
            for (; x0 + 2 * L <= d; x0 += 2 * L) {
                outputBlock4(p, v, n, d, acc, rows, c, x0);
            }
            for (int k = c; k < c + 4; k++) {
                outputTail(p, v, n, d, acc, rows[k], x0);
            }
        }
        for (; c < count; c++) {
            int x0 = 0;
            for (; x0 + L <= d; x0 += L) {
                outputBlock1(p, v, n, d, acc, rows[c], x0);
            }
            outputTail(p, v, n, d, acc, rows[c], x0);
        }
    }

    private static void outputBlock4(double[] p, double[] v, int n, int d, double[] acc, int[] rows, int c, int x0) {
        int o0 = rows[c] * d + x0;
        int o1 = rows[c + 1] * d + x0;
        int o2 = rows[c + 2] * d + x0;
        int o3 = rows[c + 3] * d + x0;
        int p0 = rows[c] * n;
        int p1 = rows[c + 1] * n;
        int p2 = rows[c + 2] * n;
        int p3 = rows[c + 3] * n;
        DoubleVector a00 = DoubleVector.fromArray(SPECIES, acc, o0);
        DoubleVector a01 = DoubleVector.fromArray(SPECIES, acc, o0 + L);
        DoubleVector a10 = DoubleVector.fromArray(SPECIES, acc, o1);
        DoubleVector a11 = DoubleVector.fromArray(SPECIES, acc, o1 + L);
        DoubleVector a20 = DoubleVector.fromArray(SPECIES, acc, o2);
        DoubleVector a21 = DoubleVector.fromArray(SPECIES, acc, o2 + L);
        DoubleVector a30 = DoubleVector.fromArray(SPECIES, acc, o3);
        DoubleVector a31 = DoubleVector.fromArray(SPECIES, acc, o3 + L);
        for (int r = 0; r < n; r++) {
            DoubleVector v0 = DoubleVector.fromArray(SPECIES, v, r * d + x0);
            DoubleVector v1 = DoubleVector.fromArray(SPECIES, v, r * d + x0 + L);
            DoubleVector b0 = DoubleVector.broadcast(SPECIES, p[p0 + r]);
            DoubleVector b1 = DoubleVector.broadcast(SPECIES, p[p1 + r]);
            DoubleVector b2 = DoubleVector.broadcast(SPECIES, p[p2 + r]);
            DoubleVector b3 = DoubleVector.broadcast(SPECIES, p[p3 + r]);
            a00 = a00.add(b0.mul(v0));
            a01 = a01.add(b0.mul(v1));
            a10 = a10.add(b1.mul(v0));
            a11 = a11.add(b1.mul(v1));
            a20 = a20.add(b2.mul(v0));
            a21 = a21.add(b2.mul(v1));
            a30 = a30.add(b3.mul(v0));
            a31 = a31.add(b3.mul(v1));
        }
        a00.intoArray(acc, o0);
        a01.intoArray(acc, o0 + L);
        a10.intoArray(acc, o1);
        a11.intoArray(acc, o1 + L);
        a20.intoArray(acc, o2);
        a21.intoArray(acc, o2 + L);
        a30.intoArray(acc, o3);
        a31.intoArray(acc, o3 + L);
    }

    private static void outputBlock1(double[] p, double[] v, int n, int d, double[] acc, int row, int x0) {
        int o = row * d + x0;
        DoubleVector a = DoubleVector.fromArray(SPECIES, acc, o);
        for (int r = 0; r < n; r++) {
            a = a.add(DoubleVector.broadcast(SPECIES, p[row * n + r]).mul(DoubleVector.fromArray(SPECIES, v, r * d + x0)));
        }
        a.intoArray(acc, o);
    }

    /** Elements {@code x0..d} of one row, scalar (fewer than a vector block). */
    private static void outputTail(double[] p, double[] v, int n, int d, double[] acc, int row, int x0) {
        if (x0 >= d) {
            return;
        }
        for (int r = 0; r < n; r++) {
            double pr = p[row * n + r];
            for (int x = x0; x < d; x++) {
                acc[row * d + x] += pr * v[r * d + x];
            }
        }
    }
}
