// sf_kernel_sm80.cuh -- fused_attention_kernel: the sm_80 path (mma.sync,
// FlashAttention-2 style, raw PTX). Runs on sm_80 and on any device that is
// not compute capability 9.0; its sm_90a body is compiled only with
// SF_KERNEL_VARIANTS (SF_KERNEL=mma, to test this path on an H100/H200).
//  * One block = one Q tile of BR = 128 rows of one (batch, head), 8 warps;
//    each warp owns 16 query rows (one m16 MMA row block) for the whole run.
//    Q fragments stay in registers (ldmatrix once), the O accumulator
//    (16 x D fp32) and the row statistics m, l stay in registers.
//  * KV tiles of BC rows (BC = 64 for D = 128, 128 for D = 64: keeps the S
//    fragment at 32 or 64 fp32 registers/thread and the registers under 255
//    with no spill) stream through a STAGES = 3 deep cp.async ring in shared
//    memory (K and V per stage). Depth 3: the load of tile i+2 is issued while
//    tile i is computed, so one full tile of compute hides each load; one
//    __syncthreads per tile.
//  * All tiles are [rows, D] row-major with a 16-byte-chunk XOR swizzle
//    (sf_ptx.cuh): conflict-free ldmatrix (K: plain, V: .trans) and cp.async.
//  * S = Q K^T and O += P V with mma.sync.m16n8k16 (fp32 accumulate); online
//    softmax (sf_softmax.cuh) between them.
//  * The KV sequence is the concatenation of all KV chunks: the loader and the
//    consumer walk (chunk, row0) independently (KvWalker); rows past a chunk's
//    end are zero-filled by cp.async and their scores masked to -inf.
#pragma once

#include "sf_epilogue.cuh"
#include "sf_ptx.cuh"
#include "sf_softmax.cuh"
#include "sf_tile.cuh"

namespace sf {

template <int D> struct KvTileCfg;
template <> struct KvTileCfg<64> { static constexpr int BC = 128; static constexpr int STAGES = 3; };
template <> struct KvTileCfg<128> { static constexpr int BC = 64; static constexpr int STAGES = 3; };

template <int D>
constexpr int fused_smem_bytes() {
    return kBR * D * 2 + 2 * KvTileCfg<D>::STAGES * KvTileCfg<D>::BC * D * 2;
}

template <typename T, int D>
struct Sm80Mainloop : TileShape<D, KvTileCfg<D>::BC> {
    using Shape = TileShape<D, KvTileCfg<D>::BC>;
    using Shape::KSTEPS_D, Shape::NB_S, Shape::NB_O, Shape::KSTEPS_P, Shape::kTileBytes;
    static constexpr int BC = KvTileCfg<D>::BC;
    static constexpr int STAGES = KvTileCfg<D>::STAGES;
    using Tile = SwizzledTile<D>;
    using E = Elem<T>;

    uint32_t sK, sV;  // STAGES K tiles, then STAGES V tiles
    int tid, lane, b, h;
    int ld_chunk = 0, ld_row0 = 0;  // the next tile to load

    // cp.async of the next K and V tile into ring stage `stage`.
    __device__ __forceinline__ void load_kv(const FusedParams& p, int stage) {
        const KVChunkDev& kc = p.kv[ld_chunk];
        const T* kb = k_base<T>(kc, b, h);
        const T* vb = v_base<T>(kc, b, h);
        const uint32_t dk = sK + stage * kTileBytes;
        const uint32_t dv = sV + stage * kTileBytes;
        for_each_tile_chunk<BC, D, kThreads>(tid, ld_row0, kc.rows, [&](int r, int c, int gr, bool ok) {
            const T* ks = ok ? kb + (long long)gr * kc.k_sr + c * 8 : kb;
            const T* vs = ok ? vb + (long long)gr * kc.v_sr + c * 8 : vb;
            cp_async_16(dk + Tile::offset(r, c), ks, ok);
            cp_async_16(dv + Tile::offset(r, c), vs, ok);
        });
        ld_row0 += BC;
        if (ld_row0 >= kc.rows) { ld_row0 = 0; ++ld_chunk; }
    }

    // Tiles 0 .. STAGES-2 in flight, one commit group each (empty past the end).
    __device__ __forceinline__ void prefetch(const FusedParams& p, int ntiles) {
#pragma unroll
        for (int s = 0; s < STAGES - 1; ++s) {
            if (s < ntiles) load_kv(p, s);
            cp_async_commit();
        }
    }

    // S = Q K^T (raw, unscaled).
    __device__ __forceinline__ void gemm_s(float (&s)[NB_S][4], const uint32_t (&qf)[KSTEPS_D][4], uint32_t tk) const {
#pragma unroll
        for (int nb = 0; nb < NB_S; ++nb)
#pragma unroll
            for (int e = 0; e < 4; ++e) s[nb][e] = 0.f;
#pragma unroll
        for (int kk = 0; kk < KSTEPS_D; ++kk) {
#pragma unroll
            for (int j = 0; j < NB_S / 2; ++j) {
                uint32_t kf[4];
                const int mi = lane >> 3;
                ldmatrix_x4(kf, tk + Tile::offset(j * 16 + (mi >> 1) * 8 + (lane & 7), 2 * kk + (mi & 1)));
                E::mma(s[2 * j], qf[kk], kf[0], kf[1]);
                E::mma(s[2 * j + 1], qf[kk], kf[2], kf[3]);
            }
        }
    }

    // O += P V; P (fp32 in s) is packed to 16-bit A fragments one k-step at a time.
    __device__ __forceinline__ void gemm_pv(float (&acc)[NB_O][4], const float (&s)[NB_S][4], uint32_t tv) const {
#pragma unroll
        for (int kk = 0; kk < KSTEPS_P; ++kk) {
            uint32_t a[4];
            a[0] = E::pack(s[2 * kk][0], s[2 * kk][1]);
            a[1] = E::pack(s[2 * kk][2], s[2 * kk][3]);
            a[2] = E::pack(s[2 * kk + 1][0], s[2 * kk + 1][1]);
            a[3] = E::pack(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
            for (int j = 0; j < NB_O / 2; ++j) {
                uint32_t vf[4];
                const int mi = lane >> 3;
                ldmatrix_x4_trans(vf, tv + Tile::offset(kk * 16 + (mi & 1) * 8 + (lane & 7), 2 * j + (mi >> 1)));
                E::mma(acc[2 * j], a, vf[0], vf[1]);
                E::mma(acc[2 * j + 1], a, vf[2], vf[3]);
            }
        }
    }
};

template <typename T, int D>
__global__ void __launch_bounds__(kThreads, 1) fused_attention_kernel(const __grid_constant__ FusedParams p) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL) && !SF_KERNEL_VARIANTS
    // The shipped sm_90a code runs the wgmma kernels (sf_kernel_sm90.cuh); never launched there. The
    // compute_90 PTX (JIT-compiled for later architectures) keeps this kernel: they run the mma.sync path.
    __trap();
#else
    using ML = Sm80Mainloop<T, D>;
    using Tile = typename ML::Tile;

    extern __shared__ __align__(128) uint8_t smem[];
    const uint32_t sQ = smem_u32(smem);
    const uint32_t sK = sQ + kBR * D * 2;
    const uint32_t sV = sK + ML::STAGES * ML::kTileBytes;

    const int tid = threadIdx.x;
    const int warp = tid >> 5;
    const int lane = tid & 31;

    const WorkTile w = TileScheduler::get(p);
    const QChunkDev& qc = *w.qc;
    load_q_tile<T, Tile, D, kThreads>(sQ, qc, w, tid);
    cp_async_commit();

    ML ml{{}, sK, sV, tid, lane, w.b, w.h};
    const int ntiles = p.total_kv_tiles;
    ml.prefetch(p, ntiles);

    // Q fragments -> registers
    cp_async_wait<ML::STAGES - 1>();
    __syncthreads();
    uint32_t qf[ML::KSTEPS_D][4];
#pragma unroll
    for (int kk = 0; kk < ML::KSTEPS_D; ++kk)
        ldmatrix_x4(qf[kk], sQ + Tile::offset(warp * 16 + (lane & 15), 2 * kk + (lane >> 4)));

    const RowFrag f(w, warp, lane);
    float acc[ML::NB_O][4];
    float m2[2], lsum[2];
    OnlineSoftmax sm{m2, lsum};
    load_carried_state<ML::NB_O>(p, qc, w, f, flat(acc), m2, lsum);

    // main loop over the concatenated KV tiles
    const float sl2 = p.scale_log2;
    int cp_row0 = 0, cp_chunk = 0;  // the tile being computed
    for (int it = 0; it < ntiles; ++it) {
        cp_async_wait<ML::STAGES - 2>();
        __syncthreads();  // tile `it` visible to all; stage of tile it-1 free
        if (it + ML::STAGES - 1 < ntiles) ml.load_kv(p, (it + ML::STAGES - 1) % ML::STAGES);
        cp_async_commit();

        const int stage = it % ML::STAGES;
        const uint32_t tk = sK + stage * ML::kTileBytes;
        const uint32_t tv = sV + stage * ML::kTileBytes;
        const int valid = min(ML::BC, p.kv[cp_chunk].rows - cp_row0);
        cp_row0 += ML::BC;
        if (cp_row0 >= p.kv[cp_chunk].rows) { cp_row0 = 0; ++cp_chunk; }

        float s[ML::NB_S][4];
        ml.gemm_s(s, qf, tk);
        float alpha[2];
        sm.step<ML::NB_S>(flat(s), valid, f.t, sl2, alpha);
        OnlineSoftmax::rescale_o<ML::NB_O>(flat(acc), alpha);
        ml.gemm_pv(acc, s, tv);
    }
    cp_async_wait<0>();
    epilogue_store<T, ML::NB_O>(p, qc, w, f, flat(acc), sm);
#endif
}

}  // namespace sf
