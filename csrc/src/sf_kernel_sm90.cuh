// sf_kernel_sm90.cuh -- the sm_90a kernels (consumer GEMMs and loop steps:
// sf_mainloop_sm90.cuh). Compiled to a __trap() stub for sm_80.
//
// fused_attention_ws_kernel<T, D, PIPE = true, PP = true>: the path on
// H100/H200, warp-specialised, TMA + mbarriers.
//  * 12 warps: warps 0-3 and 4-7 are two consumer warpgroups (64 Q rows each);
//    warps 8-11 are the producer warpgroup (setmaxnreg gives its registers to
//    the consumers: 24 vs 240; 128 x 24 + 256 x 240 = 63 K of the 64 K
//    register file); one lane issues the TMA loads (cp.async.bulk.tensor, 4-D
//    tensor maps [B, rows, H, D] per KV chunk, box = 64 columns x BC rows,
//    128B swizzle = the wgmma layout; rows past a chunk's end are zero-filled
//    by TMA) into a STAGES-deep ring.
//  * full[s] barriers: producer arrive.expect_tx + TMA completion; empty[s]:
//    one arrive per consumer warp (8) once its wgmmas reading stage s are done.
//    No CTA-wide barrier inside the main loop, so the two consumer warpgroups
//    drift apart and one's softmax overlaps the other's tensor-core work.
//  * PIPE: intra-warpgroup overlap (S_j and P_{j-1} V_{j-1} issued together,
//    softmax of S_j while P V runs); the first tile is peeled (with a
//    loop-carried `if (it > 0)` ptxas serialised every wgmma, C7515).
//    PP: ping-pong of the two consumer warpgroups.
//  * STAGES = 3 for D = 128 (Q 32 KB + 3 x 64 KB = 224 KB of the 227 KB),
//    4 for D = 64 (144 KB).
//
// fused_attention_wgmma_kernel<T, D, PIPE = false>: the fallback for KV views
// that a TMA tensor map cannot describe (a zero stride). cp.async loads by all
// 256 threads, two warpgroups, one __syncthreads per tile, (K, V) pairs in a
// 3-deep ring (two tiles of lookahead; a 2-deep ring measured the same). Tiles
// use the 128B-swizzle layout, followed by fence.proxy.async so the async
// proxy (wgmma) sees them. PIPE = true (SF_KERNEL_VARIANTS only) pipelines as
// above with K and V in separate rings, but ptxas serialises its wgmmas (C7515).
#pragma once

#include <stdint.h>

#include "sf_epilogue.cuh"
#include "sf_mainloop_sm90.cuh"
#include "sf_ptx.cuh"
#include "sf_softmax.cuh"
#include "sf_split.cuh"
#include "sf_tile.cuh"
#include "sf_wgmma.cuh"

namespace sf {

template <int D> struct WgCfg;
template <> struct WgCfg<64> { static constexpr int BC = 128; static constexpr int STAGES = 3; };
template <> struct WgCfg<128> { static constexpr int BC = 128; static constexpr int STAGES = 3; };

template <int D> struct WsCfg;
template <> struct WsCfg<64> { static constexpr int BC = 128; static constexpr int STAGES = 4; };
template <> struct WsCfg<128> { static constexpr int BC = 128; static constexpr int STAGES = 3; };
constexpr int kWsThreads = 12 * 32;

struct alignas(64) TmaMap { unsigned char bytes[128]; };  // a CUtensorMap
struct FusedParamsWS {
    FusedParams p;
    TmaMap kmap[SF_MAX_KV_CHUNKS];
    TmaMap vmap[SF_MAX_KV_CHUNKS];
};
static_assert(sizeof(FusedParamsWS) <= 32000, "kernel parameter block must stay under 32 KB");

// 1024: alignment slack for the 1024-byte swizzle atoms.
template <int D>
constexpr int wgmma_smem_bytes() {
    return 1024 + kBR * D * 2 + 2 * WgCfg<D>::STAGES * WgCfg<D>::BC * D * 2;
}
// 2048: the mbarriers (128 B) plus alignment slack.
template <int D>
constexpr int ws_smem_bytes() {
    return 2048 + kBR * D * 2 + 2 * WsCfg<D>::STAGES * WsCfg<D>::BC * D * 2;
}

// full[STAGES], then empty[STAGES] mbarriers, 8 bytes each.
template <int STAGES>
struct MbarRing {
    uint32_t base;
    __device__ __forceinline__ uint32_t full(int s) const { return base + 8u * s; }
    __device__ __forceinline__ uint32_t empty(int s) const { return base + 8u * (STAGES + s); }
};

// Producer (one lane): TMA loads of K and V tile `it` into stage it % STAGES
// once the consumers have released that stage.
template <int D, int BC, int STAGES>
__device__ __forceinline__ void ws_producer(const FusedParamsWS& pw, MbarRing<STAGES> bars, uint32_t sK, uint32_t sV,
                                            int b, int h, int kv_begin, int ntiles) {
    constexpr uint32_t kTileBytes = BC * D * 2;
    KvWalker<BC> start;
    start.seek(pw.p, kv_begin);
    int row0 = start.row0, chunk = start.chunk;
    for (int it = 0; it < ntiles; ++it) {
        const int s = it % STAGES;
        if (it >= STAGES) mbar_wait(bars.empty(s), ((it / STAGES) - 1) & 1);
        mbar_arrive_expect_tx(bars.full(s), 2 * kTileBytes);
#pragma unroll
        for (int db = 0; db < D / 64; ++db) {
            tma_load_4d(sK + s * kTileBytes + db * (BC * 128), &pw.kmap[chunk], db * 64, h, row0, b, bars.full(s));
            tma_load_4d(sV + s * kTileBytes + db * (BC * 128), &pw.vmap[chunk], db * 64, h, row0, b, bars.full(s));
        }
        KvWalker<BC>::advance(chunk, row0, pw.p.kv[chunk]);
    }
}

// Consumer warpgroup's main loop over the KV tiles in the mbarrier ring.
template <typename T, int D, int STAGES, bool PIPE, bool PP, typename ML>
__device__ __forceinline__ void ws_consumer_mainloop(const FusedParams& p, const ML& ml, MbarRing<STAGES> bars,
                                                     uint32_t sK, uint32_t sV, int lane, int kv_begin, int ntiles,
                                                     typename ML::S& s, typename ML::PA& pa, typename ML::O& acc,
                                                     OnlineSoftmax& sm) {
    constexpr uint32_t kTileBytes = ML::kTileBytes;
    KvWalker<WsCfg<D>::BC> cp;
    cp.seek(p, kv_begin);
    const PingPong<PP> pp{ml.wg};
    auto release = [&](int stage) {
        __syncwarp();
        if (lane == 0) mbar_arrive(bars.empty(stage));
    };
    pp.start();
    if constexpr (PIPE) {
        {  // first tile: S_0 alone
            mbar_wait(bars.full(0), 0);
            const int valid = cp.next_valid(p);
            ml.s_alone(s, [&] { return sK; }, pp);
            ml.softmax_pack(sm, s, pa, acc, valid);
        }
        for (int it = 1; it < ntiles; ++it) {
            const int stage = it % STAGES;
            mbar_wait(bars.full(stage), (it / STAGES) & 1);
            const int valid = cp.next_valid(p);
            reg_fence(s);
            reg_fence(acc);
            reg_fence(pa);
            pp.wait_turn();
            wgmma_fence();
            ml.issue_s(s, sK + stage * kTileBytes);
            ml.issue_pv(acc, pa, sV + ((it - 1) % STAGES) * kTileBytes);
            pp.pass_turn();
            wgmma_wait<1>();  // S_it done; P_{it-1} V_{it-1} may still run
            ml.softmax_overlapped(sm, s, pa, acc, valid, [&] { release((it - 1) % STAGES); });
        }
        ml.pv_alone(acc, pa, [&] { return sV + ((ntiles - 1) % STAGES) * kTileBytes; }, pp);
        release((ntiles - 1) % STAGES);
    } else {
        for (int it = 0; it < ntiles; ++it) {
            const int stage = it % STAGES;
            mbar_wait(bars.full(stage), (it / STAGES) & 1);
            const int valid = cp.next_valid(p);
            ml.s_alone(s, [&] { return sK + stage * kTileBytes; }, pp);
            ml.softmax_pack(sm, s, pa, acc, valid);
            ml.pv_alone(acc, pa, [&] { return sV + stage * kTileBytes; }, PingPong<false>{ml.wg});
            release(stage);
        }
    }
    pp.finish();
}

template <typename T, int D, bool PIPE, bool PP>
__global__ void __launch_bounds__(kWsThreads, 1) fused_attention_ws_kernel(const __grid_constant__ FusedParamsWS pw) {
#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 900) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
    const FusedParams& p = pw.p;
    constexpr int BC = WsCfg<D>::BC;
    constexpr int STAGES = WsCfg<D>::STAGES;
    using ML = Sm90Mainloop<T, D, BC>;

    extern __shared__ uint8_t smem_raw[];
    const MbarRing<STAGES> bars{smem_u32(smem_raw)};
    const uint32_t sQ = (bars.base + 128u + 1023u) & ~1023u;
    const uint32_t sK = sQ + kBR * D * 2;
    const uint32_t sV = sK + STAGES * ML::kTileBytes;

    const int tid = threadIdx.x;
    const int warp = tid >> 5;
    const int lane = tid & 31;

    const WorkTile w = TileScheduler::get(p);
    const QChunkDev& qc = *w.qc;
    const int ntiles = w.kv_end - w.kv_begin;

    if (tid == 0) {
        for (int s = 0; s < STAGES; ++s) {
            mbar_init(bars.full(s), 1);
            mbar_init(bars.empty(s), 8);
        }
        fence_mbar_init();
    }
    __syncthreads();

    if (warp >= 8) {
        // producer warpgroup: gives its registers to the consumers
        asm volatile("setmaxnreg.dec.sync.aligned.u32 24;\n" ::: "memory");
        if (warp == 8 && lane == 0) ws_producer<D, BC, STAGES>(pw, bars, sK, sV, w.b, w.h, w.kv_begin, ntiles);
        return;
    }

    // consumers: 2 warpgroups, 240 registers each thread
    asm volatile("setmaxnreg.inc.sync.aligned.u32 240;\n" ::: "memory");
    const int wg = warp >> 2;
    load_q_tile<T, Sw128Tile<kBR>, D, 256>(sQ, qc, w, tid);
    cp_async_commit();

    const RowFrag f(w, warp, lane);
    float acc[ML::NB_O * 4];
    float m2[2], lsum[2];
    OnlineSoftmax sm{m2, lsum};
    load_carried_state<ML::NB_O>(p, qc, w, f, acc, m2, lsum, w.piece == 0);  // the carried state enters once
    cp_async_wait<0>();
    fence_proxy_async();
    named_bar_sync(1, 256);  // Q tile complete for both consumer warpgroups

    const ML ml{{}, sQ, wg, f.t, p.scale_log2};
    float s[ML::NB_S * 4];
    uint32_t pa[ML::KSTEPS_P][4];
    ML::clear(s, pa);

    ws_consumer_mainloop<T, D, STAGES, PIPE, PP>(p, ml, bars, sK, sV, lane, w.kv_begin, ntiles, s, pa, acc, sm);
    // A split piece hands its state over; the last piece of its tile merges them all and writes.
    if (w.split >= 0 && !SplitMerge<ML::NB_O>::finish(p, w, tid, acc, m2, lsum)) return;
    epilogue_store<T, ML::NB_O>(p, qc, w, f, acc, sm);
#else
    // Not an sm_90a build: this kernel is never launched there (host picks the mma.sync path).
    __trap();
#endif
}

// cp.async kernel: loads of the K/V ring by all 256 threads.
template <typename T, int D, bool PIPE>
struct CpAsyncKvLoader {
    static constexpr int BC = WgCfg<D>::BC;
    static constexpr int STAGES = WgCfg<D>::STAGES;
    static_assert(!PIPE || STAGES == 3, "the pipelined ring schedule below assumes 3 stages");
    static constexpr uint32_t kTileBytes = BC * D * 2;

    uint32_t sK, sV;
    int b, h, tid;
    KvWalker<BC> wk, wv;  // one walker per tensor: K and V are loaded at different lags when PIPE

    __device__ __forceinline__ void load_one(const FusedParams& p, KvWalker<BC>& w, bool is_v, uint32_t dst) {
        const KVChunkDev& kc = p.kv[w.chunk];
        const T* base = is_v ? v_base<T>(kc, b, h) : k_base<T>(kc, b, h);
        const long long sr = is_v ? kc.v_sr : kc.k_sr;
        for_each_tile_chunk<BC, D, kThreads>(tid, w.row0, kc.rows, [&](int r, int c, int gr, bool ok) {
            cp_async_16(dst + Sw128Tile<BC>::offset(r, c), ok ? base + (long long)gr * sr + c * 8 : base, ok);
        });
        w.advance(kc);
    }
    __device__ __forceinline__ void load_k(const FusedParams& p, uint32_t dst) { load_one(p, wk, false, dst); }
    __device__ __forceinline__ void load_v(const FusedParams& p, uint32_t dst) { load_one(p, wv, true, dst); }

    // The Q tile's loads are issued but not committed yet.
    __device__ __forceinline__ void prefetch(const FusedParams& p, int ntiles) {
        if constexpr (PIPE) {
            // groups: G_{-2} = {Q, K_0}, G_{-1} = {K_1, V_0}; iteration it issues G_it = {K_{it+2}, V_{it+1}}
            load_k(p, sK);
            cp_async_commit();
            if (1 < ntiles) load_k(p, sK + kTileBytes);
            load_v(p, sV);
            cp_async_commit();
        } else {
            cp_async_commit();  // Q
#pragma unroll
            for (int s = 0; s < STAGES - 1; ++s) {
                if (s < ntiles) {
                    load_k(p, sK + s * kTileBytes);
                    load_v(p, sV + s * kTileBytes);
                }
                cp_async_commit();
            }
        }
    }

    // Before tile it: its K (and the V in use) landed, visible to every thread
    // and to the async proxy; the stages freed by tile it-1 are refilled.
    __device__ __forceinline__ void next(const FusedParams& p, int it, int ntiles) {
        if constexpr (PIPE) {
            cp_async_wait<1>();  // G_{it-2} = {K_it, V_{it-1}} has landed (G_{it-1} may be in flight)
            fence_proxy_async();
            __syncthreads();     // ... for every thread; K stage (it+2)%3 and V stage (it+1)%3 are free
            if (it + 2 < ntiles) load_k(p, sK + ((it + 2) % 3) * kTileBytes);
            if (it + 1 < ntiles) load_v(p, sV + ((it + 1) % 3) * kTileBytes);
            cp_async_commit();
        } else {
            cp_async_wait<STAGES - 2>();
            fence_proxy_async();
            __syncthreads();
            if (it + STAGES - 1 < ntiles) {
                const int st = (it + STAGES - 1) % STAGES;
                load_k(p, sK + st * kTileBytes);
                load_v(p, sV + st * kTileBytes);
            }
            cp_async_commit();
        }
    }
};

// cp.async kernel: main loop (both warpgroups in step, one __syncthreads per tile).
template <typename T, int D, bool PIPE, typename ML>
__device__ __forceinline__ void cpasync_mainloop(const FusedParams& p, const ML& ml, CpAsyncKvLoader<T, D, PIPE>& ld,
                                                 int ntiles, typename ML::S& s, typename ML::PA& pa,
                                                 typename ML::O& acc, OnlineSoftmax& sm) {
    constexpr uint32_t kTileBytes = ML::kTileBytes;
    const PingPong<false> alone{ml.wg};
    KvWalker<WgCfg<D>::BC> cp;
    if constexpr (PIPE) {
        for (int it = 0; it < ntiles; ++it) {
            ld.next(p, it, ntiles);
            const int valid = cp.next_valid(p);
            reg_fence(s);
            reg_fence(acc);
            reg_fence(pa);
            wgmma_fence();
            ml.issue_s(s, ld.sK + (it % 3) * kTileBytes);
            if (it > 0) {
                ml.issue_pv(acc, pa, ld.sV + ((it - 1) % 3) * kTileBytes);
                wgmma_wait<1>();  // S_it done; P_{it-1} V_{it-1} may still run
            } else {
                wgmma_wait<0>();
            }
            ml.softmax_overlapped(sm, s, pa, acc, valid, [] {});
        }
        // tail: O += P_{n-1} V_{n-1}
        cp_async_wait<0>();
        fence_proxy_async();
        __syncthreads();
        ml.pv_alone(acc, pa, [&] { return ld.sV + ((ntiles - 1) % 3) * kTileBytes; }, alone);
    } else {
        for (int it = 0; it < ntiles; ++it) {
            ld.next(p, it, ntiles);
            const int stage = it % ld.STAGES;
            const int valid = cp.next_valid(p);
            ml.s_alone(s, [&] { return ld.sK + stage * kTileBytes; }, alone);
            ml.softmax_pack(sm, s, pa, acc, valid);
            ml.pv_alone(acc, pa, [&] { return ld.sV + stage * kTileBytes; }, alone);
        }
        cp_async_wait<0>();
    }
}

template <typename T, int D, bool PIPE>
__global__ void __launch_bounds__(kThreads, 1) fused_attention_wgmma_kernel(const __grid_constant__ FusedParams p) {
#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 900) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
    using LD = CpAsyncKvLoader<T, D, PIPE>;
    using ML = Sm90Mainloop<T, D, LD::BC>;

    extern __shared__ uint8_t smem_raw[];
    const uint32_t sQ = (smem_u32(smem_raw) + 1023u) & ~1023u;
    const uint32_t sK = sQ + kBR * D * 2;
    const uint32_t sV = sK + LD::STAGES * LD::kTileBytes;

    const int tid = threadIdx.x;
    const int warp = tid >> 5;
    const int lane = tid & 31;
    const int wg = warp >> 2;

    const WorkTile w = TileScheduler::get(p);
    const QChunkDev& qc = *w.qc;
    load_q_tile<T, Sw128Tile<kBR>, D, kThreads>(sQ, qc, w, tid);
    LD ld{sK, sV, w.b, w.h, tid};
    const int ntiles = p.total_kv_tiles;
    ld.prefetch(p, ntiles);

    const RowFrag f(w, warp, lane);
    float acc[ML::NB_O * 4];
    float m2[2], lsum[2];
    OnlineSoftmax sm{m2, lsum};
    load_carried_state<ML::NB_O>(p, qc, w, f, acc, m2, lsum);

    const ML ml{{}, sQ, wg, f.t, p.scale_log2};
    float s[ML::NB_S * 4];
    uint32_t pa[ML::KSTEPS_P][4];
    ML::clear(s, pa);

    cpasync_mainloop<T, D, PIPE>(p, ml, ld, ntiles, s, pa, acc, sm);
    epilogue_store<T, ML::NB_O>(p, qc, w, f, acc, sm);
#else
    // Not an sm_90a build: this kernel is never launched there (host picks the mma.sync path).
    __trap();
#endif
}

}  // namespace sf
