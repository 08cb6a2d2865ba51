// sf_attention.cu -- the fused multi-Q / multi-KV attention kernels.
//
// Three implementations of one contract (streamfusion.h, sf_attention_fused):
//  1. fused_attention_ws_kernel (sm_90a, the default on H100/H200): warp-
//     specialised, TMA + mbarrier ring, two consumer warpgroups doing wgmma with
//     intra-warpgroup pipelining and ping-pong scheduling. See its comment block.
//  2. fused_attention_wgmma_kernel (sm_90a fallback): cp.async + wgmma.
//  3. fused_attention_kernel (sm_80 and anything not 9.0): mma.sync, below.
// Measured speeds and the history of each step: docs/kernels.md.
//
// Design of (3) (FlashAttention-2 style, raw PTX, runs on sm_80 and sm_90):
//  * One block = one Q tile of BR = 128 rows of one (batch, head), 8 warps;
//    each warp owns 16 query rows (one m16 MMA row block) for the whole run.
//    Q fragments stay in registers (ldmatrix once), the O accumulator
//    (16 x D fp32) and the row statistics m, l stay in registers.
//  * KV tiles of BC rows (BC = 64 for D = 128, 128 for D = 64: keeps the S
//    fragment at 32 or 64 fp32 registers/thread and the registers under 255
//    with no spill) stream through a STAGES = 3 deep cp.async ring in shared
//    memory (K and V per stage). Depth 3: the load of tile i+2 is issued while
//    tile i is computed, so one full tile of compute (about 1.5 us per block at
//    the target rate) hides each load; one __syncthreads per tile.
//  * All tiles are [rows, D] row-major with a 16-byte-chunk XOR swizzle
//    (sf_ptx.cuh): conflict-free ldmatrix (K: plain, V: .trans) and cp.async.
//  * S = Q K^T and O += P V with mma.sync.m16n8k16 (fp32 accumulate). Online
//    softmax in fp32 registers with exp2: scores are scaled by
//    softmax_scale * log2(e) inside one FMA with the max subtraction; m is kept
//    in log2 units and converted back (natural units) at the boundary.
//    A row whose maximum is -inf uses 0 as the subtrahend, so exp2 gives 0 and
//    never NaN (-inf - -inf).
//  * The KV sequence is the concatenation of all KV chunks: the loader and the
//    consumer walk (chunk, row0) independently; rows past a chunk's end are
//    zero-filled by cp.async (src-size 0) and their scores masked to -inf.
//  * Q tiles of all chunks are numbered by a prefix sum (tile_start); each
//    block binary-searches blockIdx.x. grid.y = batch * heads; consecutive
//    blocks share (b, h) so that K/V tiles are re-read from L2.
//  * Descriptors (<= SF_MAX_Q_CHUNKS + SF_MAX_KV_CHUNKS) travel in a
//    __grid_constant__ parameter struct (~9 KB; kernel parameters up to 32 KB
//    are allowed since CUDA 12.1 on sm_70+).
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include "sf_common.h"
#include "sf_ptx.cuh"
#include "sf_wgmma.cuh"

namespace sf {

struct QChunkDev {
    const void* q;
    long long q_sb, q_sr, q_sh;
    float* o;
    long long o_sb, o_sr, o_sh;
    float* m;
    long long m_sb, m_sr, m_sh;
    float* l;
    long long l_sb, l_sr, l_sh;
    void* out;
    long long out_sb, out_sr, out_sh;
    float* lse;
    long long lse_sb, lse_sr, lse_sh;
    int rows;
    int tile_start;
};

struct KVChunkDev {
    const void* k;
    const void* v;
    long long k_sb, k_sr, k_sh;
    long long v_sb, v_sr, v_sh;
    int rows;
    int pad_;
};

struct FusedParams {
    QChunkDev q[SF_MAX_Q_CHUNKS];
    KVChunkDev kv[SF_MAX_KV_CHUNKS];
    int nq;
    int nkv;
    int heads;
    int total_kv_tiles;  // sum over KV chunks of ceil(rows / BC)
    float scale_log2;    // softmax_scale * log2(e)
    int init;            // SF_INIT
    int finalize;        // SF_FINALIZE
    int write_lse;       // SF_WRITE_LSE
    int has_state;       // state pointers given
};

constexpr int kBR = 128;
constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
static_assert((kBR * 8) % kThreads == 0, "tile loads divide evenly");
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

template <int D> struct KvTileCfg;
template <> struct KvTileCfg<64> { static constexpr int BC = 128; static constexpr int STAGES = 3; };
template <> struct KvTileCfg<128> { static constexpr int BC = 64; static constexpr int STAGES = 3; };

template <int D>
constexpr int fused_smem_bytes() {
    return kBR * D * 2 + 2 * KvTileCfg<D>::STAGES * KvTileCfg<D>::BC * D * 2;
}

template <typename T, int D>
__global__ void __launch_bounds__(kThreads, 1) fused_attention_kernel(const __grid_constant__ FusedParams p) {
    constexpr int BC = KvTileCfg<D>::BC;
    constexpr int STAGES = KvTileCfg<D>::STAGES;
    constexpr int KSTEPS_D = D / 16;   // k-steps of S = Q K^T
    constexpr int NB_S = BC / 8;       // n8 blocks of S
    constexpr int NB_O = D / 8;        // n8 blocks of O
    constexpr int KSTEPS_P = BC / 16;  // k-steps of O += P V
    constexpr int CH = D / 8;          // 16-byte chunks per row
    constexpr uint32_t kTileBytes = BC * D * 2;
    using Tile = SwizzledTile<D>;
    using E = Elem<T>;

    extern __shared__ __align__(128) uint8_t smem[];
    const uint32_t sQ = smem_u32(smem);
    const uint32_t sK = sQ + kBR * D * 2;
    const uint32_t sV = sK + STAGES * kTileBytes;

    const int tid = threadIdx.x;
    const int warp = tid >> 5;
    const int lane = tid & 31;

    // ---- which Q chunk / tile / (b, h) ----
    const int tile = blockIdx.x;
    int lo = 0, hi = p.nq - 1;
    while (lo < hi) {
        const int mid = (lo + hi + 1) >> 1;
        if (p.q[mid].tile_start <= tile) lo = mid; else hi = mid - 1;
    }
    const QChunkDev& qc = p.q[lo];
    const int b = blockIdx.y / p.heads;
    const int h = blockIdx.y - b * p.heads;
    const int q_row0 = (tile - qc.tile_start) * kBR;
    const int q_rows = qc.rows;

    // ---- Q tile -> shared (zero-filled past the chunk end) ----
    {
        const T* qb = static_cast<const T*>(qc.q) + b * qc.q_sb + h * qc.q_sh;
#pragma unroll
        for (int i0 = 0; i0 < kBR * CH; i0 += kThreads) {
            const int i = i0 + tid;
            const int r = i / CH, c = i % CH;
            const int gr = q_row0 + r;
            const bool ok = gr < q_rows;
            const T* src = ok ? qb + (long long)gr * qc.q_sr + c * 8 : qb;
            cp_async_16(sQ + Tile::offset(r, c), src, ok);
        }
        cp_async_commit();
    }

    // ---- KV tile loader (walks chunks) ----
    int ld_chunk = 0, ld_row0 = 0;
    auto load_kv = [&](int stage) {
        const KVChunkDev& kc = p.kv[ld_chunk];
        const T* kb = static_cast<const T*>(kc.k) + b * kc.k_sb + h * kc.k_sh;
        const T* vb = static_cast<const T*>(kc.v) + b * kc.v_sb + h * kc.v_sh;
        const uint32_t dk = sK + stage * kTileBytes;
        const uint32_t dv = sV + stage * kTileBytes;
#pragma unroll
        for (int i0 = 0; i0 < BC * CH; i0 += kThreads) {
            const int i = i0 + tid;
            const int r = i / CH, c = i % CH;
            const int gr = ld_row0 + r;
            const bool ok = gr < kc.rows;
            const T* ks = ok ? kb + (long long)gr * kc.k_sr + c * 8 : kb;
            const T* vs = ok ? vb + (long long)gr * kc.v_sr + c * 8 : vb;
            cp_async_16(dk + Tile::offset(r, c), ks, ok);
            cp_async_16(dv + Tile::offset(r, c), vs, ok);
        }
        ld_row0 += BC;
        if (ld_row0 >= kc.rows) { ld_row0 = 0; ++ld_chunk; }
    };

    const int ntiles = p.total_kv_tiles;
#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < ntiles) load_kv(s);
        cp_async_commit();
    }

    // ---- Q fragments -> registers ----
    cp_async_wait<STAGES - 1>();
    __syncthreads();
    uint32_t qf[KSTEPS_D][4];
#pragma unroll
    for (int kk = 0; kk < KSTEPS_D; ++kk)
        ldmatrix_x4(qf[kk], sQ + Tile::offset(warp * 16 + (lane & 15), 2 * kk + (lane >> 4)));

    // ---- carried-in state ----
    const int g = lane >> 2, t = lane & 3;
    const int rows_abs[2] = {q_row0 + warp * 16 + g, q_row0 + warp * 16 + g + 8};
    const bool row_ok[2] = {rows_abs[0] < q_rows, rows_abs[1] < q_rows};
    float acc[NB_O][4];
    float m2[2], lsum[2];
#pragma unroll
    for (int nb = 0; nb < NB_O; ++nb)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[nb][e] = 0.f;
    m2[0] = m2[1] = -INFINITY;
    lsum[0] = lsum[1] = 0.f;
    if (!p.init && p.has_state) {
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            if (!row_ok[r]) continue;
            const long long row = rows_abs[r];
            const float mi = qc.m[b * qc.m_sb + row * qc.m_sr + h * qc.m_sh];
            const float li = qc.l[b * qc.l_sb + row * qc.l_sr + h * qc.l_sh];
            m2[r] = mi * kLog2e;  // -inf stays -inf
            lsum[r] = (t == 0) ? li : 0.f;
            const float* ob = qc.o + b * qc.o_sb + row * qc.o_sr + h * qc.o_sh + 2 * t;
#pragma unroll
            for (int nb = 0; nb < NB_O; ++nb) {
                const float2 v = *reinterpret_cast<const float2*>(ob + nb * 8);
                acc[nb][2 * r] = v.x;
                acc[nb][2 * r + 1] = v.y;
            }
        }
    }

    const float sl2 = p.scale_log2;
    int cp_chunk = 0, cp_row0 = 0;

    // ---- main loop over the concatenated KV tiles ----
    for (int it = 0; it < ntiles; ++it) {
        cp_async_wait<STAGES - 2>();
        __syncthreads();  // tile `it` visible to all; stage of tile it-1 free
        if (it + STAGES - 1 < ntiles) load_kv((it + STAGES - 1) % STAGES);
        cp_async_commit();

        const int stage = it % STAGES;
        const uint32_t tk = sK + stage * kTileBytes;
        const uint32_t tv = sV + stage * kTileBytes;
        const int valid = min(BC, p.kv[cp_chunk].rows - cp_row0);
        cp_row0 += BC;
        if (cp_row0 >= p.kv[cp_chunk].rows) { cp_row0 = 0; ++cp_chunk; }

        // S = Q K^T  (raw, unscaled)
        float s[NB_S][4];
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
        if (valid < BC) {
#pragma unroll
            for (int nb = 0; nb < NB_S; ++nb)
#pragma unroll
                for (int e = 0; e < 4; ++e)
                    if (nb * 8 + 2 * t + (e & 1) >= valid) s[nb][e] = -INFINITY;
        }

        // online softmax (rows g and g+8 of this warp)
        float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
        for (int nb = 0; nb < NB_S; ++nb) {
            mx[0] = fmaxf(mx[0], fmaxf(s[nb][0], s[nb][1]));
            mx[1] = fmaxf(mx[1], fmaxf(s[nb][2], s[nb][3]));
        }
        float muse[2], alpha[2];
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
            const float mnew = fmaxf(m2[r], mx[r] * sl2);
            muse[r] = (mnew == -INFINITY) ? 0.f : mnew;
            alpha[r] = fast_exp2(m2[r] - muse[r]);
            m2[r] = mnew;
        }
        float rs[2] = {0.f, 0.f};
#pragma unroll
        for (int nb = 0; nb < NB_S; ++nb) {
            s[nb][0] = fast_exp2(fmaf(s[nb][0], sl2, -muse[0]));
            s[nb][1] = fast_exp2(fmaf(s[nb][1], sl2, -muse[0]));
            s[nb][2] = fast_exp2(fmaf(s[nb][2], sl2, -muse[1]));
            s[nb][3] = fast_exp2(fmaf(s[nb][3], sl2, -muse[1]));
            rs[0] += s[nb][0] + s[nb][1];
            rs[1] += s[nb][2] + s[nb][3];
        }
        lsum[0] = lsum[0] * alpha[0] + rs[0];
        lsum[1] = lsum[1] * alpha[1] + rs[1];
#pragma unroll
        for (int nb = 0; nb < NB_O; ++nb) {
            acc[nb][0] *= alpha[0];
            acc[nb][1] *= alpha[0];
            acc[nb][2] *= alpha[1];
            acc[nb][3] *= alpha[1];
        }

        // O += P V
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
    cp_async_wait<0>();

    // ---- epilogue ----
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        lsum[r] += __shfl_xor_sync(0xffffffffu, lsum[r], 1);
        lsum[r] += __shfl_xor_sync(0xffffffffu, lsum[r], 2);
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        if (!row_ok[r]) continue;
        const long long row = rows_abs[r];
        const float m_nat = (m2[r] == -INFINITY) ? -INFINITY : m2[r] * kLn2;
        if (p.has_state) {
            if (t == 0) {
                qc.m[b * qc.m_sb + row * qc.m_sr + h * qc.m_sh] = m_nat;
                qc.l[b * qc.l_sb + row * qc.l_sr + h * qc.l_sh] = lsum[r];
            }
            float* ob = qc.o + b * qc.o_sb + row * qc.o_sr + h * qc.o_sh + 2 * t;
#pragma unroll
            for (int nb = 0; nb < NB_O; ++nb)
                *reinterpret_cast<float2*>(ob + nb * 8) = make_float2(acc[nb][2 * r], acc[nb][2 * r + 1]);
        }
        if (p.finalize) {
            const float inv = lsum[r] > 0.f ? 1.f / lsum[r] : 0.f;
            T* outb = static_cast<T*>(qc.out) + b * qc.out_sb + row * qc.out_sr + h * qc.out_sh + 2 * t;
#pragma unroll
            for (int nb = 0; nb < NB_O; ++nb)
                *reinterpret_cast<uint32_t*>(outb + nb * 8) = E::pack(acc[nb][2 * r] * inv, acc[nb][2 * r + 1] * inv);
        }
        if (p.write_lse && t == 0) {
            qc.lse[b * qc.lse_sb + row * qc.lse_sr + h * qc.lse_sh] =
                lsum[r] > 0.f ? m_nat + logf(lsum[r]) : -INFINITY;
        }
    }
}

template <typename T, int D>
static int launch_fused(const FusedParams& p, int grid_x, int grid_y, cudaStream_t stream) {
    constexpr int smem = fused_smem_bytes<D>();
    auto kern = fused_attention_kernel<T, D>;
    int st = cuda_status(cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, smem),
                         "cudaFuncSetAttribute(MaxDynamicSharedMemorySize)");
    if (st) return st;
    kern<<<dim3(grid_x, grid_y, 1), dim3(kThreads, 1, 1), smem, stream>>>(p);
    return cuda_status(cudaGetLastError(), "sf_attention_fused kernel launch");
}


// ===========================================================================
// sm_90a fallback path: cp.async loads by all threads + wgmma (warpgroup MMA),
// no warp specialisation. Used on sm_90 when a KV view cannot be described by a
// TMA tensor map (e.g. a zero stride), or with SF_KERNEL=wgmma[_nopipe].
//  * Block = 2 warpgroups (256 threads), BR = 128 Q rows: warpgroup w owns
//    rows 64w..64w+63; every thread keeps the same (row, col) fragment
//    ownership as in the mma.sync path (wgmma's m64nN accumulator and m64k16
//    register-A layouts equal four stacked m16n8 / m16k16 mma.sync tiles), so
//    the online softmax and the epilogue are shared in form.
//  * S = Q K^T: wgmma.m64n128k16, A = Q and B = K both from shared memory
//    (K-major, 128-byte swizzle). O += P V: wgmma.m64n{D}k16 with A = P from
//    registers (fp32 S converted in place) and B = V from shared memory,
//    MN-major (imm-trans-b), 128-byte swizzle.
//  * BC = 128 KV rows per tile (n = 128 is the most efficient wgmma width that
//    keeps S at 64 fp32 registers/thread); STAGES = 3 for both D (D = 128:
//    Q 32 KB + 3 x 64 KB = 224 KB of shared memory; D = 64: 112 KB). A 2-deep
//    ring measured the same (docs/kernels.md): loads were not the limit here.
//  * Shared tiles use the hardware's 128B-swizzle layout: the D columns are
//    split in blocks of 64 (128 B); each block is [rows][128 B] with 16-byte
//    chunk c of row r at c ^ (r & 7); atoms 1024-byte aligned. Loads are
//    cp.async by all threads (no TMA: chunks are arbitrary strided views),
//    followed by fence.proxy.async so the async proxy (wgmma) sees them.
// ===========================================================================
template <int D> struct WgCfg;
template <> struct WgCfg<64> { static constexpr int BC = 128; static constexpr int STAGES = 3; };
template <> struct WgCfg<128> { static constexpr int BC = 128; static constexpr int STAGES = 3; };

template <int D, bool PIPE>
constexpr int wgmma_smem_bytes() {
    return 1024 + kBR * D * 2 + 2 * WgCfg<D>::STAGES * WgCfg<D>::BC * D * 2 + 0;
}

// [ROWS, D] tile stored as D/64 column blocks of [ROWS][128 B], 128B-swizzled.
template <int ROWS>
struct Sw128Tile {
    static __device__ __forceinline__ uint32_t offset(int row, int chunk) {
        return static_cast<uint32_t>((chunk >> 3) * (ROWS * 128) + row * 128 + (((chunk & 7) ^ (row & 7)) << 4));
    }
};

template <int N>
__device__ __forceinline__ void reg_fence(float (&r)[N]) {
#pragma unroll
    for (int i = 0; i < N; ++i) asm volatile("" : "+f"(r[i])::"memory");
}
template <int K>
__device__ __forceinline__ void reg_fence(uint32_t (&r)[K][4]) {
#pragma unroll
    for (int i = 0; i < K; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) asm volatile("" : "+r"(r[i][j])::"memory");
}

// Online-softmax step on one S tile held as wgmma/mma accumulators (rows g, g+8 of
// the warp's 16): masks columns >= valid, updates m2 (log2 units), returns alpha
// (rescale of the old O and l), adds the row sums to lsum and writes P (16-bit,
// A-fragment order for the P V product) into pa.
template <int NB_S>
__device__ __forceinline__ void softmax_tile(float (&s)[NB_S * 4], int valid, int t, float sl2, float (&m2)[2],
                                             float (&lsum)[2], float (&alpha)[2]) {
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

// PIPE = true: software-pipelined across KV tiles inside each warpgroup
// (FlashAttention-3 "intra-warpgroup overlap"): iteration j issues S_j = Q K_j^T
// and O += P_{j-1} V_{j-1} back to back, waits only for S_j, runs the softmax of
// S_j while the P V product is still on the tensor cores, then waits for it and
// rescales O. K and V live in separate 3-deep rings: iteration j loads K_{j+2}
// and V_{j+1} (two iterations of lookahead for K, one for V beyond the V_{j-1}
// in use). PIPE = false: S, softmax, P V strictly in order, (K,V) pairs in a
// 3-deep ring (two tiles of lookahead).
template <typename T, int D, bool PIPE>
__global__ void __launch_bounds__(kThreads, 1) fused_attention_wgmma_kernel(const __grid_constant__ FusedParams p) {
#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 900) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
    constexpr int BC = WgCfg<D>::BC;
    constexpr int STAGES = WgCfg<D>::STAGES;
    static_assert(!PIPE || STAGES == 3, "the pipelined ring schedule below assumes 3 stages");
    constexpr int KSTEPS_D = D / 16;
    constexpr int NB_S = BC / 8;
    constexpr int NB_O = D / 8;
    constexpr int KSTEPS_P = BC / 16;
    constexpr int CH = D / 8;
    constexpr uint32_t kTileBytes = BC * D * 2;
    using E = Elem<T>;
    using W = Wgmma<T>;

    extern __shared__ uint8_t smem_raw[];
    const uint32_t sQ = (smem_u32(smem_raw) + 1023u) & ~1023u;
    const uint32_t sK = sQ + kBR * D * 2;
    const uint32_t sV = sK + STAGES * kTileBytes;

    const int tid = threadIdx.x;
    const int warp = tid >> 5;
    const int lane = tid & 31;
    const int wg = warp >> 2;

    const int tile = blockIdx.x;
    int lo = 0, hi = p.nq - 1;
    while (lo < hi) {
        const int mid = (lo + hi + 1) >> 1;
        if (p.q[mid].tile_start <= tile) lo = mid; else hi = mid - 1;
    }
    const QChunkDev& qc = p.q[lo];
    const int b = blockIdx.y / p.heads;
    const int h = blockIdx.y - b * p.heads;
    const int q_row0 = (tile - qc.tile_start) * kBR;
    const int q_rows = qc.rows;

    {
        const T* qb = static_cast<const T*>(qc.q) + b * qc.q_sb + h * qc.q_sh;
#pragma unroll
        for (int i0 = 0; i0 < kBR * CH; i0 += kThreads) {
            const int i = i0 + tid;
            const int r = i / CH, c = i % CH;
            const int gr = q_row0 + r;
            const bool ok = gr < q_rows;
            const T* src = ok ? qb + (long long)gr * qc.q_sr + c * 8 : qb;
            cp_async_16(sQ + Sw128Tile<kBR>::offset(r, c), src, ok);
        }
    }

    // Tile loader: one walker per tensor (K and V are loaded at different lags when PIPE).
    struct Walk { int chunk, row0; };
    auto load_one = [&](Walk& w, bool is_v, uint32_t dst) {
        const KVChunkDev& kc = p.kv[w.chunk];
        const T* base = is_v ? static_cast<const T*>(kc.v) + b * kc.v_sb + h * kc.v_sh
                             : static_cast<const T*>(kc.k) + b * kc.k_sb + h * kc.k_sh;
        const long long sr = is_v ? kc.v_sr : kc.k_sr;
#pragma unroll
        for (int i0 = 0; i0 < BC * CH; i0 += kThreads) {
            const int i = i0 + tid;
            const int r = i / CH, c = i % CH;
            const int gr = w.row0 + r;
            const bool ok = gr < kc.rows;
            cp_async_16(dst + Sw128Tile<BC>::offset(r, c), ok ? base + (long long)gr * sr + c * 8 : base, ok);
        }
        w.row0 += BC;
        if (w.row0 >= kc.rows) { w.row0 = 0; ++w.chunk; }
    };
    Walk wk{0, 0}, wv{0, 0};

    const int ntiles = p.total_kv_tiles;
    if constexpr (PIPE) {
        // groups: G_{-2} = {Q, K_0}, G_{-1} = {K_1, V_0}; iteration it issues G_it = {K_{it+2}, V_{it+1}}
        load_one(wk, false, sK);
        cp_async_commit();
        if (1 < ntiles) load_one(wk, false, sK + kTileBytes);
        load_one(wv, true, sV);
        cp_async_commit();
    } else {
        cp_async_commit();  // Q
#pragma unroll
        for (int s = 0; s < STAGES - 1; ++s) {
            if (s < ntiles) {
                load_one(wk, false, sK + s * kTileBytes);
                load_one(wv, true, sV + s * kTileBytes);
            }
            cp_async_commit();
        }
    }

    const int g = lane >> 2, t = lane & 3;
    const int rows_abs[2] = {q_row0 + warp * 16 + g, q_row0 + warp * 16 + g + 8};
    const bool row_ok[2] = {rows_abs[0] < q_rows, rows_abs[1] < q_rows};
    float acc[NB_O * 4];
    float m2[2], lsum[2];
#pragma unroll
    for (int i = 0; i < NB_O * 4; ++i) acc[i] = 0.f;
    m2[0] = m2[1] = -INFINITY;
    lsum[0] = lsum[1] = 0.f;
    if (!p.init && p.has_state) {
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            if (!row_ok[r]) continue;
            const long long row = rows_abs[r];
            const float mi = qc.m[b * qc.m_sb + row * qc.m_sr + h * qc.m_sh];
            const float li = qc.l[b * qc.l_sb + row * qc.l_sr + h * qc.l_sh];
            m2[r] = mi * kLog2e;
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

    const float sl2 = p.scale_log2;
    int cp_chunk = 0, cp_row0 = 0;
    float s[NB_S * 4];
#pragma unroll
    for (int i = 0; i < NB_S * 4; ++i) s[i] = 0.f;
    uint32_t pa[KSTEPS_P][4];
#pragma unroll
    for (int i = 0; i < KSTEPS_P; ++i) pa[i][0] = pa[i][1] = pa[i][2] = pa[i][3] = 0u;

    auto issue_s = [&](uint32_t tk) {
#pragma unroll
        for (int kk = 0; kk < KSTEPS_D; ++kk) {
            const uint64_t da = make_desc_sw128(sQ + (kk >> 2) * (kBR * 128) + wg * (64 * 128) + (kk & 3) * 32, 16, 1024);
            const uint64_t db = make_desc_sw128(tk + (kk >> 2) * (BC * 128) + (kk & 3) * 32, 16, 1024);
            W::ss_n128(s, da, db, kk > 0 ? 1 : 0);
        }
        wgmma_commit();
    };
    auto issue_pv = [&](uint32_t tv) {
#pragma unroll
        for (int kk = 0; kk < KSTEPS_P; ++kk) {
            const uint64_t dv = make_desc_sw128(tv + kk * (16 * 128), BC * 128, 1024);
            if constexpr (D == 128) W::rs_n128_tb(acc, pa[kk], dv, 1);
            else W::rs_n64_tb(acc, pa[kk], dv, 1);
        }
        wgmma_commit();
    };
    auto next_valid = [&]() {
        const int valid = min(BC, p.kv[cp_chunk].rows - cp_row0);
        cp_row0 += BC;
        if (cp_row0 >= p.kv[cp_chunk].rows) { cp_row0 = 0; ++cp_chunk; }
        return valid;
    };
    auto rescale = [&](const float (&alpha)[2]) {
#pragma unroll
        for (int nb = 0; nb < NB_O; ++nb) {
            acc[nb * 4 + 0] *= alpha[0];
            acc[nb * 4 + 1] *= alpha[0];
            acc[nb * 4 + 2] *= alpha[1];
            acc[nb * 4 + 3] *= alpha[1];
        }
    };

    if constexpr (PIPE) {
        for (int it = 0; it < ntiles; ++it) {
            cp_async_wait<1>();  // G_{it-2} = {K_it, V_{it-1}} has landed (G_{it-1} may be in flight)
            fence_proxy_async();
            __syncthreads();     // ... for every thread; K stage (it+2)%3 and V stage (it+1)%3 are free
            if (it + 2 < ntiles) load_one(wk, false, sK + ((it + 2) % 3) * kTileBytes);
            if (it + 1 < ntiles) load_one(wv, true, sV + ((it + 1) % 3) * kTileBytes);
            cp_async_commit();

            const int valid = next_valid();
            reg_fence(s);
            reg_fence(acc);
            reg_fence(pa);
            wgmma_fence();
            issue_s(sK + (it % 3) * kTileBytes);
            if (it > 0) {
                issue_pv(sV + ((it - 1) % 3) * kTileBytes);
                wgmma_wait<1>();  // S_it done; P_{it-1} V_{it-1} may still run
            } else {
                wgmma_wait<0>();
            }
            reg_fence(s);
            float alpha[2];
            softmax_tile<NB_S>(s, valid, t, sl2, m2, lsum, alpha);  // P_it stays fp32 in s
            wgmma_wait<0>();
            reg_fence(acc);
            reg_fence(pa);
            pack_p<T, NB_S>(s, pa);  // only now: P_{it-1} V_{it-1} no longer reads pa
            rescale(alpha);
        }
        // tail: O += P_{n-1} V_{n-1}
        cp_async_wait<0>();
        fence_proxy_async();
        __syncthreads();
        reg_fence(acc);
        reg_fence(pa);
        wgmma_fence();
        issue_pv(sV + ((ntiles - 1) % 3) * kTileBytes);
        wgmma_wait<0>();
        reg_fence(acc);
        reg_fence(pa);
    } else {
        for (int it = 0; it < ntiles; ++it) {
            cp_async_wait<STAGES - 2>();
            fence_proxy_async();
            __syncthreads();
            if (it + STAGES - 1 < ntiles) {
                const int st = (it + STAGES - 1) % STAGES;
                load_one(wk, false, sK + st * kTileBytes);
                load_one(wv, true, sV + st * kTileBytes);
            }
            cp_async_commit();
            const int stage = it % STAGES;
            const int valid = next_valid();
            reg_fence(s);
            wgmma_fence();
            issue_s(sK + stage * kTileBytes);
            wgmma_wait<0>();
            reg_fence(s);
            float alpha[2];
            softmax_tile<NB_S>(s, valid, t, sl2, m2, lsum, alpha);
            pack_p<T, NB_S>(s, pa);
            rescale(alpha);
            reg_fence(acc);
            reg_fence(pa);
            wgmma_fence();
            issue_pv(sV + stage * kTileBytes);
            wgmma_wait<0>();
            reg_fence(acc);
            reg_fence(pa);
        }
        cp_async_wait<0>();
    }

#pragma unroll
    for (int r = 0; r < 2; ++r) {
        lsum[r] += __shfl_xor_sync(0xffffffffu, lsum[r], 1);
        lsum[r] += __shfl_xor_sync(0xffffffffu, lsum[r], 2);
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        if (!row_ok[r]) continue;
        const long long row = rows_abs[r];
        const float m_nat = (m2[r] == -INFINITY) ? -INFINITY : m2[r] * kLn2;
        if (p.has_state) {
            if (t == 0) {
                qc.m[b * qc.m_sb + row * qc.m_sr + h * qc.m_sh] = m_nat;
                qc.l[b * qc.l_sb + row * qc.l_sr + h * qc.l_sh] = lsum[r];
            }
            float* ob = qc.o + b * qc.o_sb + row * qc.o_sr + h * qc.o_sh + 2 * t;
#pragma unroll
            for (int nb = 0; nb < NB_O; ++nb)
                *reinterpret_cast<float2*>(ob + nb * 8) = make_float2(acc[nb * 4 + 2 * r], acc[nb * 4 + 2 * r + 1]);
        }
        if (p.finalize) {
            const float inv = lsum[r] > 0.f ? 1.f / lsum[r] : 0.f;
            T* outb = static_cast<T*>(qc.out) + b * qc.out_sb + row * qc.out_sr + h * qc.out_sh + 2 * t;
#pragma unroll
            for (int nb = 0; nb < NB_O; ++nb)
                *reinterpret_cast<uint32_t*>(outb + nb * 8) =
                    E::pack(acc[nb * 4 + 2 * r] * inv, acc[nb * 4 + 2 * r + 1] * inv);
        }
        if (p.write_lse && t == 0) {
            qc.lse[b * qc.lse_sb + row * qc.lse_sr + h * qc.lse_sh] =
                lsum[r] > 0.f ? m_nat + logf(lsum[r]) : -INFINITY;
        }
    }
#else
    // Not an sm_90a build: this kernel is never launched there (host picks the mma.sync path).
    __trap();
#endif
}

template <typename T, int D, bool PIPE>
static int launch_fused_wgmma_v(const FusedParams& p, int grid_x, int grid_y, cudaStream_t stream) {
    constexpr int smem = wgmma_smem_bytes<D, PIPE>();
    auto kern = fused_attention_wgmma_kernel<T, D, PIPE>;
    int st = cuda_status(cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, smem),
                         "cudaFuncSetAttribute(MaxDynamicSharedMemorySize)");
    if (st) return st;
    kern<<<dim3(grid_x, grid_y, 1), dim3(kThreads, 1, 1), smem, stream>>>(p);
    return cuda_status(cudaGetLastError(), "sf_attention_fused (wgmma) kernel launch");
}

static int wgmma_variant();
template <typename T, int D>
static int launch_fused_wgmma(const FusedParams& p, int grid_x, int grid_y, cudaStream_t stream) {
    return wgmma_variant() == 1 ? launch_fused_wgmma_v<T, D, false>(p, grid_x, grid_y, stream)
                                : launch_fused_wgmma_v<T, D, true>(p, grid_x, grid_y, stream);
}

// ===========================================================================
// sm_90a warp-specialised path (the default on H100/H200): TMA + mbarriers.
//  * 12 warps: warps 0-3 and 4-7 are two consumer warpgroups (64 Q rows each,
//    wgmma exactly as above); warps 8-11 are the producer warpgroup (setmaxnreg
//    gives its registers to the consumers: 24 vs 240); one lane issues the TMA
//    loads (cp.async.bulk.tensor, 4-D tensor maps [B, rows, H, D] per KV chunk,
//    box = 64 columns x BC rows, 128B swizzle = the wgmma layout; rows past a
//    chunk's end are zero-filled by TMA) into a STAGES-deep ring.
//  * full[s] barriers: producer arrive.expect_tx + TMA completion; empty[s]:
//    one arrive per consumer warp (8) once its wgmmas reading stage s are done.
//    No CTA-wide barrier inside the main loop, so the two consumer warpgroups
//    drift apart and one's softmax overlaps the other's tensor-core work.
//  * PP (ping-pong, FlashAttention-3 style): the two consumer warpgroups take
//    turns to issue their GEMMs (named barriers 2 and 3), so the tensor cores
//    alternate between them while the other runs its softmax. PIPE: the
//    intra-warpgroup overlap (S_j and P_{j-1} V_{j-1} issued together; softmax
//    of S_j while P V runs).
//  * 128 x 24 + 256 x 240 registers = 63 K of the 64 K register file.
//  * STAGES = 3 for D = 128 (Q 32 KB + 3 x 64 KB = 224 KB of the 227 KB),
//    4 for D = 64 (144 KB).
// ===========================================================================
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

template <int D>
constexpr int ws_smem_bytes() {
    return 2048 + kBR * D * 2 + 2 * WsCfg<D>::STAGES * WsCfg<D>::BC * D * 2;
}

template <typename T, int D, bool PIPE, bool PP>
__global__ void __launch_bounds__(kWsThreads, 1) fused_attention_ws_kernel(const __grid_constant__ FusedParamsWS pw) {
#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 900) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
    const FusedParams& p = pw.p;
    constexpr int BC = WsCfg<D>::BC;
    constexpr int STAGES = WsCfg<D>::STAGES;
    constexpr int KSTEPS_D = D / 16;
    constexpr int NB_S = BC / 8;
    constexpr int NB_O = D / 8;
    constexpr int KSTEPS_P = BC / 16;
    constexpr int CH = D / 8;
    constexpr uint32_t kTileBytes = BC * D * 2;
    using E = Elem<T>;
    using W = Wgmma<T>;

    extern __shared__ uint8_t smem_raw[];
    const uint32_t sbar = smem_u32(smem_raw);              // full[STAGES], empty[STAGES]
    const uint32_t sQ = (sbar + 128u + 1023u) & ~1023u;
    const uint32_t sK = sQ + kBR * D * 2;
    const uint32_t sV = sK + STAGES * kTileBytes;
    auto full_bar = [&](int s) { return sbar + 8u * s; };
    auto empty_bar = [&](int s) { return sbar + 8u * (STAGES + s); };

    const int tid = threadIdx.x;
    const int warp = tid >> 5;
    const int lane = tid & 31;

    const int tile = blockIdx.x;
    int lo = 0, hi = p.nq - 1;
    while (lo < hi) {
        const int mid = (lo + hi + 1) >> 1;
        if (p.q[mid].tile_start <= tile) lo = mid; else hi = mid - 1;
    }
    const QChunkDev& qc = p.q[lo];
    const int b = blockIdx.y / p.heads;
    const int h = blockIdx.y - b * p.heads;
    const int q_row0 = (tile - qc.tile_start) * kBR;
    const int q_rows = qc.rows;
    const int ntiles = p.total_kv_tiles;

    if (tid == 0) {
        for (int s = 0; s < STAGES; ++s) {
            mbar_init(full_bar(s), 1);
            mbar_init(empty_bar(s), 8);
        }
        fence_mbar_init();
    }
    __syncthreads();

    if (warp >= 8) {
        // ---------------- producer warpgroup: gives its registers to the consumers ----------------
        asm volatile("setmaxnreg.dec.sync.aligned.u32 24;\n" ::: "memory");
        if (warp == 8 && lane == 0) {
            int chunk = 0, row0 = 0;
            for (int it = 0; it < ntiles; ++it) {
                const int s = it % STAGES;
                if (it >= STAGES) mbar_wait(empty_bar(s), ((it / STAGES) - 1) & 1);
                mbar_arrive_expect_tx(full_bar(s), 2 * kTileBytes);
#pragma unroll
                for (int db = 0; db < D / 64; ++db) {
                    tma_load_4d(sK + s * kTileBytes + db * (BC * 128), &pw.kmap[chunk], db * 64, h, row0, b, full_bar(s));
                    tma_load_4d(sV + s * kTileBytes + db * (BC * 128), &pw.vmap[chunk], db * 64, h, row0, b, full_bar(s));
                }
                row0 += BC;
                if (row0 >= p.kv[chunk].rows) { row0 = 0; ++chunk; }
            }
        }
        return;
    }

    // ---------------- consumers: 2 warpgroups, 240 registers each thread ----------------
    asm volatile("setmaxnreg.inc.sync.aligned.u32 240;\n" ::: "memory");
    const int wg = warp >> 2;
    {
        const T* qb = static_cast<const T*>(qc.q) + b * qc.q_sb + h * qc.q_sh;
#pragma unroll
        for (int i0 = 0; i0 < kBR * CH; i0 += 256) {
            const int i = i0 + tid;
            const int r = i / CH, c = i % CH;
            const int gr = q_row0 + r;
            const bool ok = gr < q_rows;
            const T* src = ok ? qb + (long long)gr * qc.q_sr + c * 8 : qb;
            cp_async_16(sQ + Sw128Tile<kBR>::offset(r, c), src, ok);
        }
        cp_async_commit();
    }

    const int g = lane >> 2, t = lane & 3;
    const int rows_abs[2] = {q_row0 + warp * 16 + g, q_row0 + warp * 16 + g + 8};
    const bool row_ok[2] = {rows_abs[0] < q_rows, rows_abs[1] < q_rows};
    float acc[NB_O * 4];
    float m2[2], lsum[2];
#pragma unroll
    for (int i = 0; i < NB_O * 4; ++i) acc[i] = 0.f;
    m2[0] = m2[1] = -INFINITY;
    lsum[0] = lsum[1] = 0.f;
    if (!p.init && p.has_state) {
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            if (!row_ok[r]) continue;
            const long long row = rows_abs[r];
            const float mi = qc.m[b * qc.m_sb + row * qc.m_sr + h * qc.m_sh];
            const float li = qc.l[b * qc.l_sb + row * qc.l_sr + h * qc.l_sh];
            m2[r] = mi * kLog2e;
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
    cp_async_wait<0>();
    fence_proxy_async();
    named_bar_sync(1, 256);  // Q tile complete for both consumer warpgroups

    const float sl2 = p.scale_log2;
    int cp_chunk = 0, cp_row0 = 0;
    float s[NB_S * 4];
#pragma unroll
    for (int i = 0; i < NB_S * 4; ++i) s[i] = 0.f;
    uint32_t pa[KSTEPS_P][4];
#pragma unroll
    for (int i = 0; i < KSTEPS_P; ++i) pa[i][0] = pa[i][1] = pa[i][2] = pa[i][3] = 0u;

    auto issue_s = [&](uint32_t tk) {
#pragma unroll
        for (int kk = 0; kk < KSTEPS_D; ++kk) {
            const uint64_t da = make_desc_sw128(sQ + (kk >> 2) * (kBR * 128) + wg * (64 * 128) + (kk & 3) * 32, 16, 1024);
            const uint64_t db = make_desc_sw128(tk + (kk >> 2) * (BC * 128) + (kk & 3) * 32, 16, 1024);
            W::ss_n128(s, da, db, kk > 0 ? 1 : 0);
        }
        wgmma_commit();
    };
    auto issue_pv = [&](uint32_t tv) {
#pragma unroll
        for (int kk = 0; kk < KSTEPS_P; ++kk) {
            const uint64_t dv = make_desc_sw128(tv + kk * (16 * 128), BC * 128, 1024);
            if constexpr (D == 128) W::rs_n128_tb(acc, pa[kk], dv, 1);
            else W::rs_n64_tb(acc, pa[kk], dv, 1);
        }
        wgmma_commit();
    };
    auto next_valid = [&]() {
        const int valid = min(BC, p.kv[cp_chunk].rows - cp_row0);
        cp_row0 += BC;
        if (cp_row0 >= p.kv[cp_chunk].rows) { cp_row0 = 0; ++cp_chunk; }
        return valid;
    };
    auto rescale = [&](const float (&alpha)[2]) {
#pragma unroll
        for (int nb = 0; nb < NB_O; ++nb) {
            acc[nb * 4 + 0] *= alpha[0];
            acc[nb * 4 + 1] *= alpha[0];
            acc[nb * 4 + 2] *= alpha[1];
            acc[nb * 4 + 3] *= alpha[1];
        }
    };
    auto release = [&](int stage) {
        __syncwarp();
        if (lane == 0) mbar_arrive(empty_bar(stage));
    };
    // ping-pong: warpgroup 0 goes first
    if (PP && wg == 1) named_bar_arrive(2, 256);

    if constexpr (PIPE) {
        {  // first tile: S_0 alone
            mbar_wait(full_bar(0), 0);
            const int valid = next_valid();
            reg_fence(s);
            if (PP) named_bar_sync(2 + wg, 256);
            wgmma_fence();
            issue_s(sK);
            if (PP) named_bar_arrive(2 + (wg ^ 1), 256);
            wgmma_wait<0>();
            reg_fence(s);
            float alpha[2];
            softmax_tile<NB_S>(s, valid, t, sl2, m2, lsum, alpha);
            pack_p<T, NB_S>(s, pa);
            rescale(alpha);
        }
        for (int it = 1; it < ntiles; ++it) {
            const int stage = it % STAGES;
            mbar_wait(full_bar(stage), (it / STAGES) & 1);
            const int valid = next_valid();
            reg_fence(s);
            reg_fence(acc);
            reg_fence(pa);
            if (PP) named_bar_sync(2 + wg, 256);
            wgmma_fence();
            issue_s(sK + stage * kTileBytes);
            issue_pv(sV + ((it - 1) % STAGES) * kTileBytes);
            if (PP) named_bar_arrive(2 + (wg ^ 1), 256);
            wgmma_wait<1>();  // S_it done; P_{it-1} V_{it-1} may still run
            reg_fence(s);
            float alpha[2];
            softmax_tile<NB_S>(s, valid, t, sl2, m2, lsum, alpha);  // P_it stays fp32 in s
            wgmma_wait<0>();
            reg_fence(acc);
            reg_fence(pa);
            release((it - 1) % STAGES);
            pack_p<T, NB_S>(s, pa);  // only now: P_{it-1} V_{it-1} no longer reads pa
            rescale(alpha);
        }
        reg_fence(acc);
        reg_fence(pa);
        if (PP) named_bar_sync(2 + wg, 256);
        wgmma_fence();
        issue_pv(sV + ((ntiles - 1) % STAGES) * kTileBytes);
        if (PP) named_bar_arrive(2 + (wg ^ 1), 256);
        wgmma_wait<0>();
        reg_fence(acc);
        reg_fence(pa);
        release((ntiles - 1) % STAGES);
    } else {
        for (int it = 0; it < ntiles; ++it) {
            const int stage = it % STAGES;
            mbar_wait(full_bar(stage), (it / STAGES) & 1);
            const int valid = next_valid();
            reg_fence(s);
            if (PP) named_bar_sync(2 + wg, 256);
            wgmma_fence();
            issue_s(sK + stage * kTileBytes);
            if (PP) named_bar_arrive(2 + (wg ^ 1), 256);
            wgmma_wait<0>();
            reg_fence(s);
            float alpha[2];
            softmax_tile<NB_S>(s, valid, t, sl2, m2, lsum, alpha);
            pack_p<T, NB_S>(s, pa);
            rescale(alpha);
            reg_fence(acc);
            reg_fence(pa);
            wgmma_fence();
            issue_pv(sV + stage * kTileBytes);
            wgmma_wait<0>();
            reg_fence(acc);
            reg_fence(pa);
            release(stage);
        }
    }
    // ping-pong: consume warpgroup 1's last arrive on barrier 2 so no barrier is left half-arrived.
    if (PP && wg == 0) named_bar_sync(2, 256);

#pragma unroll
    for (int r = 0; r < 2; ++r) {
        lsum[r] += __shfl_xor_sync(0xffffffffu, lsum[r], 1);
        lsum[r] += __shfl_xor_sync(0xffffffffu, lsum[r], 2);
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        if (!row_ok[r]) continue;
        const long long row = rows_abs[r];
        const float m_nat = (m2[r] == -INFINITY) ? -INFINITY : m2[r] * kLn2;
        if (p.has_state) {
            if (t == 0) {
                qc.m[b * qc.m_sb + row * qc.m_sr + h * qc.m_sh] = m_nat;
                qc.l[b * qc.l_sb + row * qc.l_sr + h * qc.l_sh] = lsum[r];
            }
            float* ob = qc.o + b * qc.o_sb + row * qc.o_sr + h * qc.o_sh + 2 * t;
#pragma unroll
            for (int nb = 0; nb < NB_O; ++nb)
                *reinterpret_cast<float2*>(ob + nb * 8) = make_float2(acc[nb * 4 + 2 * r], acc[nb * 4 + 2 * r + 1]);
        }
        if (p.finalize) {
            const float inv = lsum[r] > 0.f ? 1.f / lsum[r] : 0.f;
            T* outb = static_cast<T*>(qc.out) + b * qc.out_sb + row * qc.out_sr + h * qc.out_sh + 2 * t;
#pragma unroll
            for (int nb = 0; nb < NB_O; ++nb)
                *reinterpret_cast<uint32_t*>(outb + nb * 8) =
                    E::pack(acc[nb * 4 + 2 * r] * inv, acc[nb * 4 + 2 * r + 1] * inv);
        }
        if (p.write_lse && t == 0) {
            qc.lse[b * qc.lse_sb + row * qc.lse_sr + h * qc.lse_sh] =
                lsum[r] > 0.f ? m_nat + logf(lsum[r]) : -INFINITY;
        }
    }
#else
    __trap();
#endif
}

// cuTensorMapEncodeTiled through the runtime's driver entry point (no -lcuda).
static PFN_cuTensorMapEncodeTiled_v12000 get_encode_fn() {
    static PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
        void* f = nullptr;
        cudaDriverEntryPointQueryResult q;
        if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &q) != cudaSuccess ||
            q != cudaDriverEntryPointSuccess)
            f = nullptr;
        (void)cudaGetLastError();
        return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(f);
    }();
    return fn;
}

// 4-D map of a [B, rows, H, D] view (dims innermost first: D, H, rows, B), box 64 x 1 x BC x 1.
static bool encode_kv_map(TmaMap* out, const void* ptr, long long B, long long rows, long long H, int D,
                          long long sb, long long sr, long long sh, bool bf16, int BC) {
    PFN_cuTensorMapEncodeTiled_v12000 enc = get_encode_fn();
    if (!enc) return false;
    // strides of extent-1 dimensions are never used: give them a harmless legal value
    if (H == 1) sh = D;
    if (B == 1) sb = sr * rows;
    cuuint64_t dims[4] = {(cuuint64_t)D, (cuuint64_t)H, (cuuint64_t)rows, (cuuint64_t)B};
    cuuint64_t strides[3] = {(cuuint64_t)sh * 2, (cuuint64_t)sr * 2, (cuuint64_t)sb * 2};
    cuuint32_t box[4] = {64, 1, (cuuint32_t)BC, 1};
    cuuint32_t estr[4] = {1, 1, 1, 1};
    for (int i = 0; i < 3; ++i)
        if (strides[i] == 0 || strides[i] % 16 != 0 || strides[i] >= (1ull << 40)) return false;
    CUresult r = enc(reinterpret_cast<CUtensorMap*>(out), bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16,
                     4, const_cast<void*>(ptr), dims, strides, box, estr, CU_TENSOR_MAP_INTERLEAVE_NONE,
                     CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    return r == CUDA_SUCCESS;
}

template <typename T, int D, bool PIPE, bool PP>
static int launch_fused_ws_v(const FusedParamsWS& pw, int grid_x, int grid_y, cudaStream_t stream) {
    constexpr int smem = ws_smem_bytes<D>();
    auto kern = fused_attention_ws_kernel<T, D, PIPE, PP>;
    int st = cuda_status(cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, smem),
                         "cudaFuncSetAttribute(MaxDynamicSharedMemorySize)");
    if (st) return st;
    kern<<<dim3(grid_x, grid_y, 1), dim3(kWsThreads, 1, 1), smem, stream>>>(pw);
    return cuda_status(cudaGetLastError(), "sf_attention_fused (warp-specialised) kernel launch");
}

// Which kernel: wgmma on compute capability 9.0 (the sm_90a SASS in this
// library), mma.sync elsewhere. SF_KERNEL=mma forces the mma.sync path
// (for comparison and testing); SF_KERNEL=wgmma is the default on sm_90.
// SF_KERNEL (comparison and testing only) overrides the default kernel:
//   ws_pipe_pp (default on sm_90), ws_pipe, ws_pp, ws: warp-specialised TMA kernel variants;
//   wgmma, wgmma_nopipe: cp.async + wgmma kernel; mma: mma.sync kernel (the sm_80 path).
enum KernelChoice { K_WS_PIPE_PP = 0, K_WS_PIPE, K_WS_PP, K_WS, K_WGMMA, K_WGMMA_NOPIPE, K_MMA };
static int kernel_env() {
    static const int v = [] {
        const char* e = getenv("SF_KERNEL");
        if (!e) return (int)K_WS_PIPE_PP;
        static const char* names[] = {"ws_pipe_pp", "ws_pipe", "ws_pp", "ws", "wgmma", "wgmma_nopipe", "mma"};
        for (int i = 0; i < 7; ++i)
            if (strcmp(e, names[i]) == 0) return i;
        return (int)K_WS_PIPE_PP;
    }();
    return v;
}
// cp.async kernel: unpipelined unless SF_KERNEL=wgmma (ptxas serialises the pipelined
// form's wgmmas, C7515, and it measured slower: docs/kernels.md).
static int wgmma_variant() { return kernel_env() == K_WGMMA ? 0 : 1; }
static bool use_wgmma(int major, int minor) { return major == 9 && minor == 0 && kernel_env() != K_MMA; }
static bool use_ws() { return kernel_env() <= K_WS; }

template <typename T, int D>
static int launch_fused_ws(const FusedParamsWS& pw, int gx, int gy, cudaStream_t s) {
    switch (kernel_env()) {
        case K_WS_PIPE: return launch_fused_ws_v<T, D, true, false>(pw, gx, gy, s);
        case K_WS_PP: return launch_fused_ws_v<T, D, false, true>(pw, gx, gy, s);
        case K_WS: return launch_fused_ws_v<T, D, false, false>(pw, gx, gy, s);
        default: return launch_fused_ws_v<T, D, true, true>(pw, gx, gy, s);
    }
}
}  // namespace sf

using namespace sf;

extern "C" SF_API int sf_attention_fused(const sf_q_chunk* q_chunks, int nq, const sf_kv_chunk* kv_chunks,
                                         int nkv, int head_dim, sf_dtype dtype, float softmax_scale,
                                         uint32_t flags, void* stream) {
    if (!q_chunks) return fail(SF_ERR_NULL_POINTER, "q_chunks is NULL");
    if (!kv_chunks) return fail(SF_ERR_NULL_POINTER, "kv_chunks is NULL");
    if (nq < 1 || nq > SF_MAX_Q_CHUNKS)
        return failf(SF_ERR_TOO_MANY_CHUNKS, "nq = %d not in [1, %d]", nq, SF_MAX_Q_CHUNKS);
    if (nkv < 1 || nkv > SF_MAX_KV_CHUNKS)
        return failf(SF_ERR_TOO_MANY_CHUNKS, "nkv = %d not in [1, %d]", nkv, SF_MAX_KV_CHUNKS);
    if (head_dim != 64 && head_dim != 128)
        return failf(SF_ERR_UNSUPPORTED_HEAD_DIM, "head_dim = %d (supported: 64, 128)", head_dim);
    if (dtype != SF_DTYPE_BF16 && dtype != SF_DTYPE_FP16)
        return failf(SF_ERR_UNSUPPORTED_DTYPE, "dtype = %d (attention supports SF_DTYPE_BF16, SF_DTYPE_FP16)",
                     (int)dtype);
    if (!(softmax_scale > 0.f) || !isfinite(softmax_scale))
        return failf(SF_ERR_INVALID_ARGUMENT, "softmax_scale = %g must be finite and > 0", (double)softmax_scale);
    if (flags & ~(SF_INIT | SF_FINALIZE | SF_WRITE_LSE))
        return failf(SF_ERR_INVALID_FLAGS, "flags = 0x%x has unknown bits", flags);

    const int64_t B = q_chunks[0].q.batch, H = q_chunks[0].q.heads, D = head_dim;
    if (B < 1 || H < 1) return failf(SF_ERR_INVALID_SHAPE, "q_chunks[0].q batch=%lld heads=%lld must be >= 1",
                                     (long long)B, (long long)H);
    if (B * H > 65535)
        return failf(SF_ERR_INVALID_SHAPE, "batch*heads = %lld exceeds 65535", (long long)(B * H));

    static FusedParams zero_params;  // zero-initialised template
    FusedParams p = zero_params;
    p.nq = nq;
    p.nkv = nkv;
    p.heads = static_cast<int>(H);
    p.scale_log2 = softmax_scale * kLog2e;
    p.init = (flags & SF_INIT) ? 1 : 0;
    p.finalize = (flags & SF_FINALIZE) ? 1 : 0;
    p.write_lse = (flags & SF_WRITE_LSE) ? 1 : 0;

    char name[96];
    int has_state = -1;
    long long tiles = 0;
    for (int i = 0; i < nq; ++i) {
        const sf_q_chunk& c = q_chunks[i];
        const int64_t R = c.q.rows;
        if (R < 1 || R > (int64_t)1 << 30)
            return failf(SF_ERR_INVALID_SHAPE, "q_chunks[%d].q.rows = %lld not in [1, 2^30]", i, (long long)R);
        snprintf(name, sizeof name, "q_chunks[%d].q", i);
        int st = check_view(c.q, name, B, R, H, D, 2, 8, false);
        if (st) return st;
        const bool hs = c.state.o.ptr || c.state.m.ptr || c.state.l.ptr;
        if (has_state == -1) has_state = hs ? 1 : 0;
        if ((hs ? 1 : 0) != has_state)
            return failf(SF_ERR_INVALID_ARGUMENT, "q_chunks[%d].state: either every chunk has a state or none", i);
        if (hs) {
            snprintf(name, sizeof name, "q_chunks[%d].state.o", i);
            if ((st = check_view(c.state.o, name, B, R, H, D, 4, 4, true))) return st;
            snprintf(name, sizeof name, "q_chunks[%d].state.m", i);
            if ((st = check_view(c.state.m, name, B, R, H, 1, 4, 1, true))) return st;
            snprintf(name, sizeof name, "q_chunks[%d].state.l", i);
            if ((st = check_view(c.state.l, name, B, R, H, 1, 4, 1, true))) return st;
        } else if ((flags & (SF_INIT | SF_FINALIZE)) != (SF_INIT | SF_FINALIZE)) {
            return failf(SF_ERR_NULL_POINTER,
                         "q_chunks[%d].state pointers are NULL: allowed only with SF_INIT | SF_FINALIZE", i);
        }
        if (flags & SF_FINALIZE) {
            snprintf(name, sizeof name, "q_chunks[%d].out", i);
            if ((st = check_view(c.out, name, B, R, H, D, 2, 8, true))) return st;
        }
        if (flags & SF_WRITE_LSE) {
            snprintf(name, sizeof name, "q_chunks[%d].lse", i);
            if ((st = check_view(c.lse, name, B, R, H, 1, 4, 1, true))) return st;
        }
        QChunkDev& d = p.q[i];
        d.q = c.q.ptr; d.q_sb = c.q.stride_batch; d.q_sr = c.q.stride_row; d.q_sh = c.q.stride_head;
        d.o = (float*)c.state.o.ptr; d.o_sb = c.state.o.stride_batch; d.o_sr = c.state.o.stride_row; d.o_sh = c.state.o.stride_head;
        d.m = (float*)c.state.m.ptr; d.m_sb = c.state.m.stride_batch; d.m_sr = c.state.m.stride_row; d.m_sh = c.state.m.stride_head;
        d.l = (float*)c.state.l.ptr; d.l_sb = c.state.l.stride_batch; d.l_sr = c.state.l.stride_row; d.l_sh = c.state.l.stride_head;
        if (flags & SF_FINALIZE) { d.out = c.out.ptr; d.out_sb = c.out.stride_batch; d.out_sr = c.out.stride_row; d.out_sh = c.out.stride_head; }
        if (flags & SF_WRITE_LSE) { d.lse = (float*)c.lse.ptr; d.lse_sb = c.lse.stride_batch; d.lse_sr = c.lse.stride_row; d.lse_sh = c.lse.stride_head; }
        d.rows = static_cast<int>(R);
        d.tile_start = static_cast<int>(tiles);
        tiles += (R + kBR - 1) / kBR;
    }
    if (tiles > 0x7fffffff) return fail(SF_ERR_INVALID_SHAPE, "too many Q tiles");
    p.has_state = has_state;

    int dev = 0, major = 0;
    int st0 = cuda_status(cudaGetDevice(&dev), "cudaGetDevice");
    if (st0) return st0;
    int minor = 0;
    if ((st0 = cuda_status(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev),
                           "cudaDeviceGetAttribute")))
        return st0;
    if ((st0 = cuda_status(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev),
                           "cudaDeviceGetAttribute")))
        return st0;
    if (major < 8) return failf(SF_ERR_UNSUPPORTED_DEVICE, "device %d has compute capability %d.x < 8.0", dev, major);
    const bool wgmma = use_wgmma(major, minor);
    const int BC = wgmma ? 128 : (head_dim == 64 ? KvTileCfg<64>::BC : KvTileCfg<128>::BC);
    long long kv_tiles = 0;
    for (int j = 0; j < nkv; ++j) {
        const sf_kv_chunk& c = kv_chunks[j];
        const int64_t R = c.k.rows;
        if (R < 1 || R > (int64_t)1 << 30)
            return failf(SF_ERR_INVALID_SHAPE, "kv_chunks[%d].k.rows = %lld not in [1, 2^30]", j, (long long)R);
        int st;
        snprintf(name, sizeof name, "kv_chunks[%d].k", j);
        if ((st = check_view(c.k, name, B, R, H, D, 2, 8, false))) return st;
        snprintf(name, sizeof name, "kv_chunks[%d].v", j);
        if ((st = check_view(c.v, name, B, R, H, D, 2, 8, false))) return st;
        KVChunkDev& d = p.kv[j];
        d.k = c.k.ptr; d.k_sb = c.k.stride_batch; d.k_sr = c.k.stride_row; d.k_sh = c.k.stride_head;
        d.v = c.v.ptr; d.v_sb = c.v.stride_batch; d.v_sr = c.v.stride_row; d.v_sh = c.v.stride_head;
        d.rows = static_cast<int>(R);
        kv_tiles += (R + BC - 1) / BC;
    }
    if (kv_tiles > 0x7fffffff) return fail(SF_ERR_INVALID_SHAPE, "too many KV tiles");
    p.total_kv_tiles = static_cast<int>(kv_tiles);


    cudaStream_t s = static_cast<cudaStream_t>(stream);
    const int gx = static_cast<int>(tiles), gy = static_cast<int>(B * H);
    if (wgmma && use_ws()) {
        // TMA tensor maps per KV chunk; any view TMA cannot describe -> cp.async wgmma kernel below.
        static thread_local FusedParamsWS ws_params;  // ~17 KB; copied into the launch
        FusedParamsWS* pw = &ws_params;
        pw->p = p;
        bool ok = true;
        for (int j = 0; j < nkv && ok; ++j) {
            const sf_kv_chunk& c = kv_chunks[j];
            ok = encode_kv_map(&pw->kmap[j], c.k.ptr, B, c.k.rows, H, head_dim, c.k.stride_batch, c.k.stride_row,
                               c.k.stride_head, dtype == SF_DTYPE_BF16, 128) &&
                 encode_kv_map(&pw->vmap[j], c.v.ptr, B, c.v.rows, H, head_dim, c.v.stride_batch, c.v.stride_row,
                               c.v.stride_head, dtype == SF_DTYPE_BF16, 128);
        }
        int rc = 0;
        if (ok) {
            if (dtype == SF_DTYPE_BF16)
                rc = head_dim == 64 ? launch_fused_ws<__nv_bfloat16, 64>(*pw, gx, gy, s)
                                    : launch_fused_ws<__nv_bfloat16, 128>(*pw, gx, gy, s);
            else
                rc = head_dim == 64 ? launch_fused_ws<__half, 64>(*pw, gx, gy, s) : launch_fused_ws<__half, 128>(*pw, gx, gy, s);
        }
        if (ok) return rc;
    }
    if (wgmma) {
        if (dtype == SF_DTYPE_BF16)
            return head_dim == 64 ? launch_fused_wgmma<__nv_bfloat16, 64>(p, gx, gy, s)
                                  : launch_fused_wgmma<__nv_bfloat16, 128>(p, gx, gy, s);
        return head_dim == 64 ? launch_fused_wgmma<__half, 64>(p, gx, gy, s) : launch_fused_wgmma<__half, 128>(p, gx, gy, s);
    }
    if (dtype == SF_DTYPE_BF16)
        return head_dim == 64 ? launch_fused<__nv_bfloat16, 64>(p, gx, gy, s) : launch_fused<__nv_bfloat16, 128>(p, gx, gy, s);
    return head_dim == 64 ? launch_fused<__half, 64>(p, gx, gy, s) : launch_fused<__half, 128>(p, gx, gy, s);
}
