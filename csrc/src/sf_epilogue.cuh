// sf_epilogue.cuh -- the state boundary of every fused-attention kernel: the
// carried-in (o, m, l) read before the main loop, and the epilogue that writes
// the state back, the finalised O = o / l and lse. Accumulators in the layout
// described in sf_softmax.cuh; m in global memory is in natural-log units.
#pragma once

#include <math.h>
#include <stdint.h>

#include "sf_softmax.cuh"
#include "sf_tile.cuh"

namespace sf {

// The two Q rows (g, g+8 of the warp's 16) a thread's accumulators hold.
struct RowFrag {
    int g, t;     // lane / 4, lane % 4
    int row[2];   // row in the Q chunk
    bool ok[2];   // row < chunk rows
    __device__ __forceinline__ RowFrag(const WorkTile& w, int warp, int lane) {
        g = lane >> 2;
        row[0] = w.q_row0 + warp * 16 + g;
        row[1] = w.q_row0 + warp * 16 + g + 8;
        ok[0] = row[0] < w.q_rows;
        ok[1] = row[1] < w.q_rows;
        t = lane & 3;
    }
};

// O = 0, m = -inf, l = 0, or the carried state (unless SF_INIT, or `carry` is false: the pieces
// of a split tile after the first). The carried l goes to the t == 0 thread only: lsum holds
// per-thread parts of the row sum.
template <int NB_O>
__device__ __forceinline__ void load_carried_state(const FusedParams& p, const QChunkDev& qc, WorkTile w,
                                                   RowFrag f, float (&acc)[NB_O * 4], float (&m2)[2], float (&lsum)[2],
                                                   bool carry = true) {
    const int b = w.b, h = w.h, t = f.t;
#pragma unroll
    for (int i = 0; i < NB_O * 4; ++i) acc[i] = 0.f;
    m2[0] = m2[1] = -INFINITY;
    lsum[0] = lsum[1] = 0.f;
    if (carry && !p.init && p.has_state) {
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            if (!f.ok[r]) continue;
            const long long row = f.row[r];
            const float mi = qc.m[b * qc.m_sb + row * qc.m_sr + h * qc.m_sh];
            const float li = qc.l[b * qc.l_sb + row * qc.l_sr + h * qc.l_sh];
            m2[r] = mi * kLog2e;  // -inf stays -inf
            lsum[r] = (t == 0) ? li : 0.f;
            const float* ob = qc.o + b * qc.o_sb + row * qc.o_sr + h * qc.o_sh + 2 * t;
#pragma unroll
            for (int nb = 0; nb < NB_O; ++nb) {
                const float2 v = *reinterpret_cast<const float2*>(ob + nb * 8);
                acc[nb * 4 + 2 * r] = v.x;
                acc[nb * 4 + 2 * r + 1] = v.y;
            }
        }
    }
}

// Writes (o, m, l) when a state is given, O = o / l (0 where l = 0) with
// SF_FINALIZE, lse = m + log l (-inf where l = 0) with SF_WRITE_LSE.
template <typename T, int NB_O>
__device__ __forceinline__ void epilogue_store(const FusedParams& p, const QChunkDev& qc, WorkTile w,
                                               RowFrag f, const float (&acc)[NB_O * 4], OnlineSoftmax& sm) {
    const int b = w.b, h = w.h, t = f.t;
    sm.reduce_row_sums();
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        if (!f.ok[r]) continue;
        const long long row = f.row[r];
        const float m_nat = (sm.m2[r] == -INFINITY) ? -INFINITY : sm.m2[r] * kLn2;
        if (p.has_state) {
            if (t == 0) {
                qc.m[b * qc.m_sb + row * qc.m_sr + h * qc.m_sh] = m_nat;
                qc.l[b * qc.l_sb + row * qc.l_sr + h * qc.l_sh] = sm.lsum[r];
            }
            float* ob = qc.o + b * qc.o_sb + row * qc.o_sr + h * qc.o_sh + 2 * t;
#pragma unroll
            for (int nb = 0; nb < NB_O; ++nb)
                *reinterpret_cast<float2*>(ob + nb * 8) = make_float2(acc[nb * 4 + 2 * r], acc[nb * 4 + 2 * r + 1]);
        }
        if (p.finalize) {
            const float inv = sm.lsum[r] > 0.f ? 1.f / sm.lsum[r] : 0.f;
            T* outb = static_cast<T*>(qc.out) + b * qc.out_sb + row * qc.out_sr + h * qc.out_sh + 2 * t;
#pragma unroll
            for (int nb = 0; nb < NB_O; ++nb)
                *reinterpret_cast<uint32_t*>(outb + nb * 8) =
                    Elem<T>::pack(acc[nb * 4 + 2 * r] * inv, acc[nb * 4 + 2 * r + 1] * inv);
        }
        if (p.write_lse && t == 0) {
            qc.lse[b * qc.lse_sb + row * qc.lse_sr + h * qc.lse_sh] =
                sm.lsum[r] > 0.f ? m_nat + logf(sm.lsum[r]) : -INFINITY;
        }
    }
}

}  // namespace sf
