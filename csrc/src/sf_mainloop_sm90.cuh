// sf_mainloop_sm90.cuh -- the consumer side of the sm_90a kernels
// (sf_kernel_sm90.cuh): one warpgroup's wgmma GEMMs and the steps of its main
// loop, shared by the warp-specialised TMA kernel and the cp.async kernel.
//  * S = Q K^T: wgmma.m64n128k16, A = Q and B = K both from shared memory
//    (K-major, 128-byte swizzle). O += P V: wgmma.m64n{D}k16 with A = P from
//    registers (fp32 S converted to 16 bits) and B = V from shared memory,
//    MN-major (imm-trans-b), 128-byte swizzle.
//  * BC = 128 KV rows per tile: n = 128 is the most efficient wgmma width that
//    keeps S at 64 fp32 registers/thread; O is 64 (D = 128) or 32 (D = 64).
//  * Every thread keeps the same (row, col) fragment ownership as the
//    mma.sync path (wgmma's m64nN accumulator and m64k16 register-A layouts
//    are four stacked m16n8 / m16k16 tiles), so softmax and epilogue are shared.
//  * reg_fence (sf_tile.cuh) around every issue and wait keeps ptxas from
//    touching accumulators or P registers while a wgmma may still use them.
#pragma once

#include <stdint.h>

#include "sf_ptx.cuh"
#include "sf_softmax.cuh"
#include "sf_tile.cuh"
#include "sf_wgmma.cuh"

namespace sf {

// Ping-pong (FlashAttention-3): the two consumer warpgroups take turns to
// issue their GEMMs (named barriers 2 and 3), so the tensor cores alternate
// between them while the other one runs its softmax. PP = false: no-ops.
template <bool PP>
struct PingPong {
    int wg;
    // warpgroup 0 takes the first turn
    __device__ __forceinline__ void start() const { if (PP && wg == 1) named_bar_arrive(2, 256); }
    __device__ __forceinline__ void wait_turn() const { if (PP) named_bar_sync(2 + wg, 256); }
    __device__ __forceinline__ void pass_turn() const { if (PP) named_bar_arrive(2 + (wg ^ 1), 256); }
    // consume warpgroup 1's last arrive on barrier 2 so no barrier is left half-arrived
    __device__ __forceinline__ void finish() const { if (PP && wg == 0) named_bar_sync(2, 256); }
};

template <typename T, int D, int BC>
struct Sm90Mainloop : TileShape<D, BC> {
    using Shape = TileShape<D, BC>;
    using Shape::KSTEPS_D, Shape::NB_S, Shape::NB_O, Shape::KSTEPS_P, Shape::kTileBytes;
    using W = Wgmma<T>;
    using S = float[NB_S * 4];
    using O = float[NB_O * 4];
    using PA = uint32_t[KSTEPS_P][4];

    uint32_t sQ;  // Q tile, [kBR rows] in D/64 128B-swizzled column blocks
    int wg;       // consumer warpgroup: Q rows 64 wg .. 64 wg + 63
    int t;        // lane % 4 (column pair in the accumulators)
    float sl2;    // softmax_scale * log2(e)

    static __device__ __forceinline__ void clear(S& s, PA& pa) {
#pragma unroll
        for (int i = 0; i < NB_S * 4; ++i) s[i] = 0.f;
#pragma unroll
        for (int i = 0; i < KSTEPS_P; ++i) pa[i][0] = pa[i][1] = pa[i][2] = pa[i][3] = 0u;
    }

    __device__ __forceinline__ void issue_s(S& s, uint32_t tk) const {
#pragma unroll
        for (int kk = 0; kk < KSTEPS_D; ++kk) {
            const uint64_t da = make_desc_sw128(sQ + (kk >> 2) * (kBR * 128) + wg * (64 * 128) + (kk & 3) * 32, 16, 1024);
            const uint64_t db = make_desc_sw128(tk + (kk >> 2) * (BC * 128) + (kk & 3) * 32, 16, 1024);
            W::ss_n128(s, da, db, kk > 0 ? 1 : 0);
        }
        wgmma_commit();
    }
    __device__ __forceinline__ void issue_pv(O& acc, PA& pa, uint32_t tv) const {
#pragma unroll
        for (int kk = 0; kk < KSTEPS_P; ++kk) {
            const uint64_t dv = make_desc_sw128(tv + kk * (16 * 128), BC * 128, 1024);
            if constexpr (D == 128) W::rs_n128_tb(acc, pa[kk], dv, 1);
            else W::rs_n64_tb(acc, pa[kk], dv, 1);
        }
        wgmma_commit();
    }

    // S = Q K^T on its own (in this warpgroup's turn), waited for. tk() gives
    // the K tile's address; it is evaluated at the issue, after the fences, as
    // the code before the factoring did (the address arithmetic stays there).
    template <bool PP, typename Addr>
    __device__ __forceinline__ void s_alone(S& s, Addr tk, const PingPong<PP>& pp) const {
        reg_fence(s);
        pp.wait_turn();
        wgmma_fence();
        issue_s(s, tk());
        pp.pass_turn();
        wgmma_wait<0>();
        reg_fence(s);
    }
    // O += P V on its own (in this warpgroup's turn), waited for; tv() as tk() above.
    template <bool PP, typename Addr>
    __device__ __forceinline__ void pv_alone(O& acc, PA& pa, Addr tv, const PingPong<PP>& pp) const {
        reg_fence(acc);
        reg_fence(pa);
        pp.wait_turn();
        wgmma_fence();
        issue_pv(acc, pa, tv());
        pp.pass_turn();
        wgmma_wait<0>();
        reg_fence(acc);
        reg_fence(pa);
    }
    // Nothing in flight: softmax of S, P -> A fragments, O rescaled.
    __device__ __forceinline__ void softmax_pack(OnlineSoftmax& sm, S& s, PA& pa, O& acc, int valid) const {
        float alpha[2];
        sm.step<NB_S>(s, valid, t, sl2, alpha);
        pack_p<T, NB_S>(s, pa);
        OnlineSoftmax::rescale_o<NB_O>(acc, alpha);
    }
    // Intra-warpgroup overlap (FlashAttention-3): S_j has landed, P_{j-1} V_{j-1}
    // may still run. Softmax of S_j (P_j stays fp32 in s), then wait for P V,
    // pv_done() (e.g. free its stage), and only now overwrite pa and rescale O.
    template <typename F>
    __device__ __forceinline__ void softmax_overlapped(OnlineSoftmax& sm, S& s, PA& pa, O& acc, int valid,
                                                       F&& pv_done) const {
        reg_fence(s);
        float alpha[2];
        sm.step<NB_S>(s, valid, t, sl2, alpha);
        wgmma_wait<0>();
        reg_fence(acc);
        reg_fence(pa);
        pv_done();
        pack_p<T, NB_S>(s, pa);
        OnlineSoftmax::rescale_o<NB_O>(acc, alpha);
    }
};

}  // namespace sf
