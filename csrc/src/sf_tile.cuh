// sf_tile.cuh -- what every fused-attention kernel shares outside the math: the
// launch parameters, the tile scheduler (which Q tile a block owns), the walk
// over the concatenated KV chunks, and the cp.async tile loader.
//
// A note on form, for this file and the other sf_*.cuh: nvcc's SASS depends on
// how a helper is spelt (declaration order of locals, values or references,
// where an address is computed), not only on what it computes. Where a helper
// looks oddly shaped, the shape was chosen so that the shipped kernels compile
// to the same SASS as before the factoring (docs/kernels.md, "Design").
#pragma once

#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

#include "sf_common.h"
#include "sf_ptx.cuh"

// 1 (CMake -DSF_KERNEL_VARIANTS=ON): also build the comparison variants, chosen by SF_KERNEL.
#ifndef SF_KERNEL_VARIANTS
#define SF_KERNEL_VARIANTS 0
#endif

namespace sf {

// ---------------------------------------------------------------------------
// Launch parameters. Descriptors (<= SF_MAX_Q_CHUNKS + SF_MAX_KV_CHUNKS) travel
// in a __grid_constant__ struct (~9 KB; kernel parameters up to 32 KB are
// allowed since CUDA 12.1 on sm_70+).
// ---------------------------------------------------------------------------
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
    // Work units (sf_split.cuh): the first unsplit_units are whole tiles in launch order (tile fastest,
    // then batch*heads); the rest are split_k pieces of each of the following split_tiles tiles.
    int q_tiles;                 // Q tiles over all chunks (the tiles of one batch*head)
    long long unsplit_units;     // whole tiles; == q_tiles * batch * heads when nothing is split
    int split_k;                 // pieces per split tile (1: no split)
    int split_tiles;             // split tiles
    float* split_partials;       // workspace: one partial state slot per piece
    unsigned int* split_counters;  // workspace: pieces finished, per split tile (left at 0)
};

constexpr int kBR = 128;  // Q rows per block (every kernel)
constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
static_assert((kBR * 8) % kThreads == 0, "tile loads divide evenly");
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

// Fragment counts of one KV tile of BC rows against D columns, per warp's 16 rows.
template <int D, int BC>
struct TileShape {
    static constexpr int KSTEPS_D = D / 16;   // k-steps of S = Q K^T
    static constexpr int NB_S = BC / 8;       // n8 blocks of S
    static constexpr int NB_O = D / 8;        // n8 blocks of O
    static constexpr int KSTEPS_P = BC / 16;  // k-steps of O += P V
    static constexpr uint32_t kTileBytes = BC * D * 2;
};

// ---------------------------------------------------------------------------
// Tile scheduler: Q tiles of all chunks are numbered by a prefix sum
// (tile_start); block x binary-searches its chunk. grid.y = batch * heads, so
// consecutive blocks share (b, h) and re-read the same K/V tiles from L2.
// ---------------------------------------------------------------------------
struct WorkTile {
    const QChunkDev* qc;  // the Q chunk
    int b, h;
    int q_row0;  // first row of the tile in its chunk
    int q_rows;  // rows of the chunk
    int kv_begin, kv_end;  // KV tiles [kv_begin, kv_end) of the concatenated chunks
    int split;   // index of the split tile this piece belongs to, -1 for a whole tile
    int piece;   // 0 .. split_k - 1
};

struct TileScheduler {
    static __device__ __forceinline__ WorkTile get(const FusedParams& p) {
        // A whole-tile launch has grid (q_tiles, batch*heads); a split launch is one-dimensional.
        int tile = blockIdx.x, bh = blockIdx.y, split = -1, piece = 0;
        int kv_begin = 0, kv_end = p.total_kv_tiles;
        if (p.split_k > 1) {
            long long unit = blockIdx.x;
            if (unit >= p.unsplit_units) {
                const long long v = unit - p.unsplit_units;
                split = static_cast<int>(v / p.split_k);
                piece = static_cast<int>(v - (long long)split * p.split_k);
                unit = p.unsplit_units + split;
                kv_begin = static_cast<int>((long long)piece * p.total_kv_tiles / p.split_k);
                kv_end = static_cast<int>((long long)(piece + 1) * p.total_kv_tiles / p.split_k);
            }
            tile = static_cast<int>(unit % p.q_tiles);
            bh = static_cast<int>(unit / p.q_tiles);
        }
        int hi = p.nq - 1, lo = 0;  // (this order: the ws kernel's SASS as before)
        while (lo < hi) {
            const int mid = (lo + hi + 1) >> 1;
            if (p.q[mid].tile_start <= tile) lo = mid; else hi = mid - 1;
        }
        const QChunkDev& qc = p.q[lo];
        WorkTile w;
        w.qc = &qc;
        w.b = bh / p.heads;
        w.h = bh - w.b * p.heads;
        w.q_row0 = (tile - qc.tile_start) * kBR;
        w.q_rows = qc.rows;
        w.kv_begin = kv_begin;
        w.kv_end = kv_end;
        w.split = split;
        w.piece = piece;
        return w;
    }
};

// Position in the concatenated KV sequence: (chunk, first row of the tile in
// it). Loader and consumer each keep one and step through the same tiles (the
// sm_80 kernel spells its two walks out, sf_kernel_sm80.cuh says why).
template <int BC>
struct KvWalker {
    int row0 = 0, chunk = 0;
    // Step to the next tile; kc = the current chunk.
    __device__ __forceinline__ void advance(const KVChunkDev& kc) {
        row0 += BC;
        if (row0 >= kc.rows) { row0 = 0; ++chunk; }
    }
    // The same step spelt with selects, on two ints of the caller's. Both
    // spellings are kept because nvcc emits different (equivalent) code for
    // them, and each call site keeps the one that reproduces its kernel's SASS
    // from before the factoring.
    static __device__ __forceinline__ void advance(int& chunk, int& row0, const KVChunkDev& kc) {
        row0 += BC;
        const bool next = row0 >= kc.rows;
        chunk += next;
        row0 = next ? 0 : row0;
    }
    // Puts the walk at KV tile `first` of the concatenated chunks (a split piece starts there).
    __device__ __forceinline__ void seek(const FusedParams& p, int first) {
        chunk = 0;
        int left = first;
        for (int tiles = (p.kv[0].rows + BC - 1) / BC; left >= tiles; tiles = (p.kv[chunk].rows + BC - 1) / BC) {
            left -= tiles;
            ++chunk;
        }
        row0 = left * BC;
    }
    // Rows of the current tile inside its chunk (the rest are masked), then step on.
    __device__ __forceinline__ int next_valid(const FusedParams& p) {
        const int valid = min(BC, p.kv[chunk].rows - row0);
        advance(p.kv[chunk]);
        return valid;
    }
};

template <typename T>
__device__ __forceinline__ const T* k_base(const KVChunkDev& kc, int b, int h) {
    return static_cast<const T*>(kc.k) + b * kc.k_sb + h * kc.k_sh;
}
template <typename T>
__device__ __forceinline__ const T* v_base(const KVChunkDev& kc, int b, int h) {
    return static_cast<const T*>(kc.v) + b * kc.v_sb + h * kc.v_sh;
}

// ---------------------------------------------------------------------------
// Shared-memory tile layouts: offset(row, 16-byte chunk) in bytes.
// SwizzledTile<D> (sf_ptx.cuh): row-major, XOR swizzle, for ldmatrix (sm_80 kernel).
// Sw128Tile<ROWS>: the hardware 128B-swizzle layout that wgmma and TMA use:
// D/64 column blocks of [ROWS][128 B], chunk c of row r at c ^ (r & 7).
// ---------------------------------------------------------------------------
template <int ROWS>
struct Sw128Tile {
    static __device__ __forceinline__ uint32_t offset(int row, int chunk) {
        return static_cast<uint32_t>((chunk >> 3) * (ROWS * 128) + row * 128 + (((chunk & 7) ^ (row & 7)) << 4));
    }
};

// Visits the 16-byte chunks (row r, chunk c) of a [ROWS, D] tile, NTH threads
// taking every NTH-th chunk; gr = row0 + r is the row in the source chunk and
// ok = gr < rows. The loaders below issue one cp.async per tensor and chunk;
// rows past the end are zero-filled (src-size 0): zero K/V rows keep P V free
// of garbage and NaN.
template <int ROWS, int D, int NTH, typename F>
__device__ __forceinline__ void for_each_tile_chunk(int tid, int row0, int rows, F&& f) {
    constexpr int CH = D / 8;
#pragma unroll
    for (int i0 = 0; i0 < ROWS * CH; i0 += NTH) {
        const int i = i0 + tid;
        const int r = i / CH, c = i % CH;
        const int gr = row0 + r;
        const bool ok = gr < rows;
        f(r, c, gr, ok);
    }
}

// The block's Q tile -> shared (zero-filled past the chunk end), by NTH threads.
template <typename T, typename Layout, int D, int NTH>
__device__ __forceinline__ void load_q_tile(uint32_t sQ, const QChunkDev& qc, const WorkTile& w, int tid) {
    const T* qb = static_cast<const T*>(qc.q) + w.b * qc.q_sb + w.h * qc.q_sh;
    for_each_tile_chunk<kBR, D, NTH>(tid, w.q_row0, w.q_rows, [&](int r, int c, int gr, bool ok) {
        const T* src = ok ? qb + (long long)gr * qc.q_sr + c * 8 : qb;
        cp_async_16(sQ + Layout::offset(r, c), src, ok);
    });
}

// ---------------------------------------------------------------------------
// Register helpers.
// ---------------------------------------------------------------------------
// Compiler-only fences: the values are "used and redefined" here, so ptxas
// neither reads wgmma accumulators nor rewrites its A registers across an
// unfinished wgmma.mma_async.
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

// mma.sync fragments [N][4] seen as the flat [N*4] accumulator layout that the
// shared softmax and epilogue take (the same registers in the same order).
template <int N>
__device__ __forceinline__ float (&flat(float (&a)[N][4]))[N * 4] {
    return reinterpret_cast<float(&)[N * 4]>(a);
}

}  // namespace sf
