// sf_split.cuh -- filling the last waves: which tiles are split into KV pieces (host), and how
// the pieces of one tile are merged (device). The rule is stated in streamfusion.h
// (sf_attention_fused_scheduled); docs/kernels.md, "Waves", has the table it gives.
//
// Each piece runs the ordinary main loop over its KV range, then stores its fp32 state
// (o, m, l in the accumulator layout of sf_softmax.cuh) in its own workspace slot and counts
// itself on the tile's counter. The piece that counts last merges every slot of its tile in
// piece order (so the sum does not depend on which piece finished last), resets the counter
// for the next launch, and runs the usual epilogue.
#pragma once

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "streamfusion.h"
#include "sf_ptx.cuh"
#include "sf_tile.cuh"

namespace sf {

constexpr int kSplitMaxK = 8;          // pieces per tile at most
constexpr int kSplitThreads = 256;     // the consumer threads that hold a tile's state
constexpr double kSplitBlockCost = 1.0;   // a block's fixed cost, in KV-tile times (Q load, fill, epilogue)
constexpr double kSplitMergeCost = 0.35;  // one piece's slot written and read back, in KV-tile times
// A split launch's fixed cost, in KV-tile times: its pieces finish unevenly and the last of each tile
// merges after them. Fitted to the per-rank launches of sf_test --bench-waves at D=128 (H100 SXM,
// 2026-12-05: 6.2 to 8.5 beyond the rest of the formula in five shapes); without it the rule split the
// 1x4 ring step (216 tiles of 9 KV tiles) and lost 30%.
constexpr double kSplitLaunchCost = 8.0;

// One slot: NB_O float4 of o per thread, then (m0, m1, l0, l1), each array thread-minor (coalesced).
template <int NB_O>
struct SplitSlot {
    static constexpr size_t kFloat4s = (size_t)(NB_O + 1) * kSplitThreads;
};
__host__ __device__ inline size_t split_slot_bytes(int head_dim) {
    return (size_t)(head_dim / 8 + 1) * kSplitThreads * 16;
}

// ---------------------------------------------------------------------------
// Host: the choice.
// ---------------------------------------------------------------------------
struct SplitChoice {
    long long unsplit_units;  // whole tiles, launched first
    int split_tiles;          // tiles after them, each in k pieces
    int k;                    // 1: nothing split
};

// T work tiles of n KV tiles each on P SMs (one block per SM), at most max_pieces pieces.
inline SplitChoice choose_split(long long T, int n, int P, long long max_pieces) {
    SplitChoice best{T, 0, 1};
    if (T < 1 || n < 2 || P < 1) return best;
    auto waves = [P](long long units) { return (units + P - 1) / P; };
    const long long W = waves(T);
    const double whole = W * (n + kSplitBlockCost);
    double best_cost = whole;
    for (long long w = W - 1; w >= 0 && w >= W - 3; --w) {
        const long long s = T - w * (long long)P;  // tiles after w full waves
        for (int k = 2; k <= kSplitMaxK && k <= n; ++k) {
            if (s * k > max_pieces) break;
            const double cost = w * (n + kSplitBlockCost) + waves(s * k) * ((n + k - 1) / k + kSplitBlockCost) +
                                kSplitMergeCost * k + kSplitLaunchCost;
            if (cost < best_cost) {
                best_cost = cost;
                best = SplitChoice{T - s, static_cast<int>(s), k};
            }
        }
    }
    if (best.k > 1 && best_cost > 0.99 * whole) return SplitChoice{T, 0, 1};  // within the model's error
    return best;
}

// The choice for a workspace of `bytes` laid out as sf_attention_workspace_bytes says: counters for
// up to 4 * P split tiles (the last three waves' tiles fit), then one slot per piece.
inline SplitChoice plan_split(long long T, int n, int P, int head_dim, size_t bytes) {
    const size_t counters = SF_SPLIT_COUNTER_BYTES(P);
    if (bytes <= counters) return SplitChoice{T, 0, 1};
    const long long slots = (long long)((bytes - counters) / split_slot_bytes(head_dim));
    const SplitChoice c = choose_split(T, n, P, slots);
    return c.split_tiles <= 4LL * P ? c : SplitChoice{T, 0, 1};
}

// ---------------------------------------------------------------------------
// Device: the merge.
// ---------------------------------------------------------------------------
template <int NB_O>
struct SplitMerge {
    // Returns true in the block that holds the merged state of the whole tile (the last piece).
    static __device__ __forceinline__ bool finish(const FusedParams& p, const WorkTile& w, int tid,
                                                  float (&acc)[NB_O * 4], float (&m2)[2], float (&lsum)[2]) {
        __shared__ int last;
        float4* const slots = reinterpret_cast<float4*>(p.split_partials);
        const size_t tile_slot = (size_t)w.split * p.split_k;
        float4* mine = slots + (tile_slot + w.piece) * SplitSlot<NB_O>::kFloat4s;
#pragma unroll
        for (int g = 0; g < NB_O; ++g)
            mine[g * kSplitThreads + tid] = make_float4(acc[4 * g], acc[4 * g + 1], acc[4 * g + 2], acc[4 * g + 3]);
        mine[NB_O * kSplitThreads + tid] = make_float4(m2[0], m2[1], lsum[0], lsum[1]);
        __threadfence();  // this thread's slot before the count
        named_bar_sync(1, kSplitThreads);
        if (tid == 0) last = atomicAdd(&p.split_counters[w.split], 1u) == (unsigned)(p.split_k - 1);
        named_bar_sync(1, kSplitThreads);
        if (!last) return false;
        __threadfence();  // every piece's slot is visible past its count
#pragma unroll
        for (int i = 0; i < NB_O * 4; ++i) acc[i] = 0.f;
        m2[0] = m2[1] = -INFINITY;
        lsum[0] = lsum[1] = 0.f;
        for (int piece = 0; piece < p.split_k; ++piece) {
            const float4* slot = slots + (tile_slot + piece) * SplitSlot<NB_O>::kFloat4s;
            const float4 ml = __ldcg(slot + NB_O * kSplitThreads + tid);
            const float pm[2] = {ml.x, ml.y}, pl[2] = {ml.z, ml.w};
            float a[2], b[2];
#pragma unroll
            for (int r = 0; r < 2; ++r) {
                const float mnew = fmaxf(m2[r], pm[r]);
                const float muse = mnew == -INFINITY ? 0.f : mnew;  // never (-inf) - (-inf)
                a[r] = fast_exp2(m2[r] - muse);
                b[r] = fast_exp2(pm[r] - muse);
                lsum[r] = lsum[r] * a[r] + pl[r] * b[r];
                m2[r] = mnew;
            }
#pragma unroll
            for (int g = 0; g < NB_O; ++g) {
                const float4 o = __ldcg(slot + g * kSplitThreads + tid);
                acc[4 * g] = acc[4 * g] * a[0] + o.x * b[0];
                acc[4 * g + 1] = acc[4 * g + 1] * a[0] + o.y * b[0];
                acc[4 * g + 2] = acc[4 * g + 2] * a[1] + o.z * b[1];
                acc[4 * g + 3] = acc[4 * g + 3] * a[1] + o.w * b[1];
            }
        }
        if (tid == 0) p.split_counters[w.split] = 0u;  // ready for the next launch on this workspace
        return true;
    }
};

}  // namespace sf
