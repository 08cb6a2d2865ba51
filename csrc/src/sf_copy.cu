// sf_copy_segments: the one-sided primitives' mover over NVLink. One launch copies every segment;
// each segment owns a contiguous range of blocks, so the copies to (or from) all peers are in flight
// together. Measured on 4 x H200 (csrc/bench/a2a_copy_bench.cu, docs/native.md): copy engines reach
// about 230 GB/s of all-to-all bus bandwidth at 256 MiB per rank, this kernel about 295, NCCL 294.
#include <cuda_runtime.h>

#include <cstdint>

#include "sf_common.h"

namespace sf {
namespace {

constexpr int COPY_THREADS = 512;
constexpr int COPY_UNROLL = 8;  // vectors in flight per thread before its stores

struct SegDev {
    char* dst;
    const char* src;
    long long bytes;
    int block0;   // first block of this segment
    int nblocks;  // 0 for an empty segment
    int width;    // bytes per vector: 16, 8, 4, 2 or 1 (both pointers aligned to it)
};

struct SegTable {
    SegDev s[SF_MAX_COPY_SEGMENTS];
    int count;
};

__device__ __forceinline__ uint4 load_nc(const uint4* p) {
    uint4 v;
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
                 : "l"(p));
    return v;
}
template <typename U>
__device__ __forceinline__ U load_nc(const U* p) {
    return *p;
}

// Blocks [0, nblocks) of one segment: the body in units of U, then the tail bytes.
template <typename U>
__device__ __forceinline__ void copy_body(const SegDev& s, int lb) {
    const long long n = s.bytes / (long long)sizeof(U);
    const U* src = reinterpret_cast<const U*>(s.src);
    U* dst = reinterpret_cast<U*>(s.dst);
    const long long tile = (long long)COPY_THREADS * COPY_UNROLL;
    for (long long base = (long long)lb * tile; base < n; base += (long long)s.nblocks * tile) {
        U v[COPY_UNROLL];
#pragma unroll
        for (int u = 0; u < COPY_UNROLL; u++) {
            const long long i = base + (long long)u * COPY_THREADS + threadIdx.x;
            if (i < n) v[u] = load_nc(src + i);
        }
#pragma unroll
        for (int u = 0; u < COPY_UNROLL; u++) {
            const long long i = base + (long long)u * COPY_THREADS + threadIdx.x;
            if (i < n) dst[i] = v[u];
        }
    }
    const long long done = n * (long long)sizeof(U);
    if (lb == 0 && threadIdx.x < s.bytes - done) s.dst[done + threadIdx.x] = s.src[done + threadIdx.x];
}

__global__ void __launch_bounds__(COPY_THREADS) copy_segments_kernel(const SegTable t) {
    int si = 0;
    while (si + 1 < t.count && (int)blockIdx.x >= t.s[si + 1].block0) si++;
    const SegDev& s = t.s[si];
    const int lb = (int)blockIdx.x - s.block0;
    if (lb >= 0 && lb < s.nblocks) {
        switch (s.width) {
            case 16: copy_body<uint4>(s, lb); break;
            case 8: copy_body<uint2>(s, lb); break;
            case 4: copy_body<uint32_t>(s, lb); break;
            case 2: copy_body<uint16_t>(s, lb); break;
            default: copy_body<uint8_t>(s, lb); break;
        }
    }
    // Peer stores are posted writes: fence so they are performed before the kernel completes and a
    // barrier launched after it on the stream can publish them.
    __threadfence_system();
}

int vector_width(const void* dst, const void* src) {
    const uintptr_t a = reinterpret_cast<uintptr_t>(dst) | reinterpret_cast<uintptr_t>(src);
    for (int w = 16; w > 1; w /= 2)
        if (a % w == 0) return w;
    return 1;
}

}  // namespace
}  // namespace sf

using namespace sf;

extern "C" SF_API int sf_copy_segments(const sf_copy_segment* segments, int count, int blocks_per_segment,
                                       void* stream) {
    if (count < 0 || count > SF_MAX_COPY_SEGMENTS)
        return failf(SF_ERR_INVALID_ARGUMENT, "count = %d: must be in [0, %d]", count, SF_MAX_COPY_SEGMENTS);
    if (count == 0) return SF_OK;
    if (!segments) return fail(SF_ERR_NULL_POINTER, "segments is NULL");
    // About one block per SM over all segments for 4 peers (measured best at 16-32 per segment).
    // Capped so that 64 segments stay far below the grid's limit.
    const int per = blocks_per_segment > 0 ? (blocks_per_segment < 4096 ? blocks_per_segment : 4096)
                                           : (count >= 32 ? 4 : count >= 16 ? 8 : count >= 8 ? 16 : 32);
    SegTable t{};
    t.count = count;
    int blocks = 0;
    for (int i = 0; i < count; i++) {
        const sf_copy_segment& g = segments[i];
        if (g.bytes < 0) return failf(SF_ERR_INVALID_ARGUMENT, "segments[%d].bytes = %lld: must be >= 0", i, (long long)g.bytes);
        if (g.bytes > 0 && (!g.dst || !g.src))
            return failf(SF_ERR_NULL_POINTER, "segments[%d].%s is NULL", i, g.dst ? "src" : "dst");
        const int w = vector_width(g.dst, g.src);
        const long long tiles = (g.bytes / w + (long long)COPY_THREADS * COPY_UNROLL - 1) / ((long long)COPY_THREADS * COPY_UNROLL);
        int nb = g.bytes == 0 ? 0 : (int)(tiles < per ? (tiles > 0 ? tiles : 1) : per);
        t.s[i] = SegDev{static_cast<char*>(g.dst), static_cast<const char*>(g.src), (long long)g.bytes, blocks, nb, w};
        blocks += nb;
    }
    if (blocks == 0) return SF_OK;
    copy_segments_kernel<<<blocks, COPY_THREADS, 0, static_cast<cudaStream_t>(stream)>>>(t);
    return cuda_status(cudaGetLastError(), "sf_copy_segments kernel launch");
}
