// sf_softmax.cuh -- the online softmax of every fused-attention kernel, on
// accumulators in the mma.sync m16n8 / wgmma m64nN register layout: a thread
// holds rows g and g+8 (g = lane / 4) of its warp's 16 rows, columns
// 8 nb + 2 t + {0, 1} (t = lane % 4), at index 4 nb + {0, 1} (row g) and
// 4 nb + {2, 3} (row g+8).
//
// Numerics: exp2 with softmax_scale * log2(e) folded into the one FMA that
// subtracts the running max; m is kept in log2 units (converted to natural
// units at the state boundary, sf_epilogue.cuh). A row whose max is -inf
// subtracts 0 instead, so exp2 gives 0 and never NaN (-inf - -inf). The row
// sum is kept per thread and reduced across the quad only at the end.
#pragma once

#include <math.h>
#include <stdint.h>

#include "sf_ptx.cuh"

namespace sf {

// The row statistics are two arrays of the kernel's that this struct refers
// to: kept as separate locals they compile to the same SASS as before the
// factoring (held by value in the struct, nvcc placed the l update before
// the wgmma wait and the schedule changed).
struct OnlineSoftmax {
    float (&m2)[2];    // running max of rows g, g+8 (log2 units)
    float (&lsum)[2];  // this thread's part of the row sums

    // One S tile (raw scores): masks columns >= valid, updates m2, returns alpha
    // (the rescale of the old O and l), adds the row sums to lsum, and leaves
    // P = exp2(S * sl2 - m) in fp32 in s.
    template <int NB_S>
    __device__ __forceinline__ void step(float (&s)[NB_S * 4], int valid, int t, float sl2, float (&alpha)[2]) {
        if (valid < NB_S * 8) {
#pragma unroll
            for (int nb = 0; nb < NB_S; ++nb)
#pragma unroll
                for (int e = 0; e < 4; ++e)
                    if (nb * 8 + 2 * t + (e & 1) >= valid) s[nb * 4 + e] = -INFINITY;
        }
        float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
        for (int nb = 0; nb < NB_S; ++nb) {
            mx[0] = fmaxf(mx[0], fmaxf(s[nb * 4 + 0], s[nb * 4 + 1]));
            mx[1] = fmaxf(mx[1], fmaxf(s[nb * 4 + 2], s[nb * 4 + 3]));
        }
        float muse[2];
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
            const float mnew = fmaxf(m2[r], mx[r] * sl2);
            muse[r] = (mnew == -INFINITY) ? 0.f : mnew;  // never (-inf) - (-inf)
            alpha[r] = fast_exp2(m2[r] - muse[r]);
            m2[r] = mnew;
        }
        float rs[2] = {0.f, 0.f};
#pragma unroll
        for (int nb = 0; nb < NB_S; ++nb) {
            s[nb * 4 + 0] = fast_exp2(fmaf(s[nb * 4 + 0], sl2, -muse[0]));
            s[nb * 4 + 1] = fast_exp2(fmaf(s[nb * 4 + 1], sl2, -muse[0]));
            s[nb * 4 + 2] = fast_exp2(fmaf(s[nb * 4 + 2], sl2, -muse[1]));
            s[nb * 4 + 3] = fast_exp2(fmaf(s[nb * 4 + 3], sl2, -muse[1]));
            rs[0] += s[nb * 4 + 0] + s[nb * 4 + 1];
            rs[1] += s[nb * 4 + 2] + s[nb * 4 + 3];
        }
        lsum[0] = lsum[0] * alpha[0] + rs[0];
        lsum[1] = lsum[1] * alpha[1] + rs[1];
    }

    // O *= alpha, row by row.
    template <int NB_O>
    static __device__ __forceinline__ void rescale_o(float (&acc)[NB_O * 4], const float (&alpha)[2]) {
#pragma unroll
        for (int nb = 0; nb < NB_O; ++nb) {
            acc[nb * 4 + 0] *= alpha[0];
            acc[nb * 4 + 1] *= alpha[0];
            acc[nb * 4 + 2] *= alpha[1];
            acc[nb * 4 + 3] *= alpha[1];
        }
    }

    // Full row sums (the quad of threads that share rows g, g+8).
    __device__ __forceinline__ void reduce_row_sums() {
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            lsum[r] += __shfl_xor_sync(0xffffffffu, lsum[r], 1);
            lsum[r] += __shfl_xor_sync(0xffffffffu, lsum[r], 2);
        }
    }
};

// P (fp32, accumulator layout) -> 16-bit A fragments of the P V product:
// k-step kk uses n-blocks 2kk (regs 0,1) and 2kk+1 (regs 2,3).
template <typename T, int NB_S>
__device__ __forceinline__ void pack_p(const float (&s)[NB_S * 4], uint32_t (&pa)[NB_S / 2][4]) {
#pragma unroll
    for (int nb = 0; nb < NB_S; ++nb) {
        pa[nb >> 1][(nb & 1) * 2 + 0] = Elem<T>::pack(s[nb * 4 + 0], s[nb * 4 + 1]);
        pa[nb >> 1][(nb & 1) * 2 + 1] = Elem<T>::pack(s[nb * 4 + 2], s[nb * 4 + 3]);
    }
}

}  // namespace sf
