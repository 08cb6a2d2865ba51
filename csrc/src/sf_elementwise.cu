// sf_elementwise.cu -- state merge, state finalize, strided copy/pack.
//
// Memory-bound helpers. Merge and finalize use one warp per (b, row, head):
// the warp reads m, l of both inputs first, __syncwarp, then writes, so `out`
// may alias an input exactly. The copy kernel moves 16-byte vectors when the
// pointers and strides allow, else single elements; grid-stride loops.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>

#include "sf_common.h"

namespace sf {

struct V3 {  // a strided view, strides in elements
    char* p;
    long long sb, sr, sh;
};

static V3 mkv(const sf_view& v) {
    return V3{static_cast<char*>(v.ptr), v.stride_batch, v.stride_row, v.stride_head};
}

__device__ __forceinline__ long long off(const V3& v, long long b, long long r, long long h) {
    return b * v.sb + r * v.sr + h * v.sh;
}

struct StateDev {
    V3 o, m, l;
};

__global__ void merge_kernel(StateDev a, StateDev bb, StateDev out, long long B, long long R, long long H, int D) {
    const long long nrow = B * R * H;
    const int lane = threadIdx.x & 31;
    const long long wstride = (long long)gridDim.x * (blockDim.x >> 5);
    for (long long w = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); w < nrow; w += wstride) {
        const long long h = w % H;
        const long long r = (w / H) % R;
        const long long b = w / (H * R);
        const float ma = reinterpret_cast<const float*>(a.m.p)[off(a.m, b, r, h)];
        const float la = reinterpret_cast<const float*>(a.l.p)[off(a.l, b, r, h)];
        const float mb = reinterpret_cast<const float*>(bb.m.p)[off(bb.m, b, r, h)];
        const float lb = reinterpret_cast<const float*>(bb.l.p)[off(bb.l, b, r, h)];
        const float mm = fmaxf(ma, mb);
        float fa = 0.f, fb = 0.f;
        if (mm != -INFINITY) {  // exp(-inf - finite) = 0; never (-inf) - (-inf)
            fa = (ma == -INFINITY) ? 0.f : expf(ma - mm);
            fb = (mb == -INFINITY) ? 0.f : expf(mb - mm);
        }
        const float* oa = reinterpret_cast<const float*>(a.o.p) + off(a.o, b, r, h);
        const float* ob = reinterpret_cast<const float*>(bb.o.p) + off(bb.o, b, r, h);
        float* oo = reinterpret_cast<float*>(out.o.p) + off(out.o, b, r, h);
        for (int d = lane; d < D; d += 32) {
            const float x = (fa != 0.f ? oa[d] * fa : 0.f) + (fb != 0.f ? ob[d] * fb : 0.f);
            oo[d] = x;  // same element read above by this lane only
        }
        __syncwarp();  // all lanes have read m/l before lane 0 overwrites them
        if (lane == 0) {
            reinterpret_cast<float*>(out.m.p)[off(out.m, b, r, h)] = mm;
            reinterpret_cast<float*>(out.l.p)[off(out.l, b, r, h)] =
                (fa != 0.f ? la * fa : 0.f) + (fb != 0.f ? lb * fb : 0.f);
        }
        __syncwarp();
    }
}

template <typename T> __device__ __forceinline__ T from_f(float x);
template <> __device__ __forceinline__ float from_f<float>(float x) { return x; }
template <> __device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }
template <> __device__ __forceinline__ __half from_f<__half>(float x) { return __float2half_rn(x); }

template <typename T>
__global__ void finalize_kernel(StateDev s, V3 out, V3 lse, long long B, long long R, long long H, int D) {
    const long long nrow = B * R * H;
    const int lane = threadIdx.x & 31;
    const long long wstride = (long long)gridDim.x * (blockDim.x >> 5);
    for (long long w = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); w < nrow; w += wstride) {
        const long long h = w % H;
        const long long r = (w / H) % R;
        const long long b = w / (H * R);
        const float m = reinterpret_cast<const float*>(s.m.p)[off(s.m, b, r, h)];
        const float l = reinterpret_cast<const float*>(s.l.p)[off(s.l, b, r, h)];
        const float inv = l > 0.f ? 1.f / l : 0.f;
        const float* o = reinterpret_cast<const float*>(s.o.p) + off(s.o, b, r, h);
        T* dst = reinterpret_cast<T*>(out.p) + off(out, b, r, h);
        for (int d = lane; d < D; d += 32) dst[d] = from_f<T>(o[d] * inv);
        if (lse.p && lane == 0)
            reinterpret_cast<float*>(lse.p)[off(lse, b, r, h)] = l > 0.f ? m + logf(l) : -INFINITY;
    }
}

// U = unit moved per thread (uint4 = 16 bytes, or one element's storage type).
// Strides and D are given in units of U.
template <typename U>
__global__ void copy_kernel(V3 src, V3 dst, long long B, long long R, long long H, long long DU) {
    const long long n = B * R * H * DU;
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const long long d = i % DU;
        long long rest = i / DU;
        const long long h = rest % H;
        rest /= H;
        const long long r = rest % R;
        const long long b = rest / R;
        reinterpret_cast<U*>(dst.p)[off(dst, b, r, h) + d] = reinterpret_cast<const U*>(src.p)[off(src, b, r, h) + d];
    }
}

// Both views packed [B, R, H, D] and 16-byte aligned: one flat stream of uint4, no index arithmetic,
// FLAT_UNROLL loads in flight per thread before the stores. This is the path for whole chunks (the
// all-to-all packs and the one-sided copies through nvshmem_ptr), where the strided kernel's div/mod
// per vector and single load in flight left NVLink writes well short of what the links carry.
constexpr int FLAT_THREADS = 512;
constexpr int FLAT_UNROLL = 4;

__global__ void __launch_bounds__(FLAT_THREADS) flat_copy_kernel(const uint4* __restrict__ src,
                                                                 uint4* __restrict__ dst, long long n) {
    const long long tile = (long long)FLAT_THREADS * FLAT_UNROLL;
    for (long long base = (long long)blockIdx.x * tile; base < n; base += (long long)gridDim.x * tile) {
        uint4 v[FLAT_UNROLL];
#pragma unroll
        for (int u = 0; u < FLAT_UNROLL; u++) {
            const long long i = base + (long long)u * FLAT_THREADS + threadIdx.x;
            if (i < n) v[u] = src[i];
        }
#pragma unroll
        for (int u = 0; u < FLAT_UNROLL; u++) {
            const long long i = base + (long long)u * FLAT_THREADS + threadIdx.x;
            if (i < n) dst[i] = v[u];
        }
    }
}

static bool packed(const sf_view& v, int64_t B, int64_t R, int64_t H, int64_t D) {
    return (H == 1 || v.stride_head == D) && (R == 1 || v.stride_row == H * D) && (B == 1 || v.stride_batch == R * H * D);
}

static int grid_for(long long work, int per_block) {
    long long g = (work + per_block - 1) / per_block;
    if (g > 65536LL * 8) g = 65536LL * 8;
    if (g < 1) g = 1;
    return static_cast<int>(g);
}

static int check_state(const sf_state* s, const char* name, int64_t B, int64_t R, int64_t H, int64_t D) {
    if (!s) return failf(SF_ERR_NULL_POINTER, "%s is NULL", name);
    char n[64];
    int st;
    snprintf(n, sizeof n, "%s->o", name);
    if ((st = check_view(s->o, n, B, R, H, D, 4, 1, true))) return st;
    snprintf(n, sizeof n, "%s->m", name);
    if ((st = check_view(s->m, n, B, R, H, 1, 4, 1, true))) return st;
    snprintf(n, sizeof n, "%s->l", name);
    if ((st = check_view(s->l, n, B, R, H, 1, 4, 1, true))) return st;
    return 0;
}

static int check_shape(int64_t B, int64_t R, int64_t H, int D) {
    if (B < 1 || R < 1 || H < 1 || D < 1)
        return failf(SF_ERR_INVALID_SHAPE, "shape batch=%lld rows=%lld heads=%lld head_dim=%d: all must be >= 1",
                     (long long)B, (long long)R, (long long)H, D);
    return 0;
}

static StateDev mks(const sf_state* s) { return StateDev{mkv(s->o), mkv(s->m), mkv(s->l)}; }

}  // namespace sf

using namespace sf;

extern "C" SF_API int sf_state_merge(const sf_state* a, const sf_state* b, const sf_state* out, int64_t batch,
                                     int64_t rows, int64_t heads, int head_dim, void* stream) {
    int st;
    if ((st = check_shape(batch, rows, heads, head_dim))) return st;
    if ((st = check_state(a, "a", batch, rows, heads, head_dim))) return st;
    if ((st = check_state(b, "b", batch, rows, heads, head_dim))) return st;
    if ((st = check_state(out, "out", batch, rows, heads, head_dim))) return st;
    const long long nrow = batch * rows * heads;
    merge_kernel<<<grid_for(nrow, 8), 256, 0, static_cast<cudaStream_t>(stream)>>>(mks(a), mks(b), mks(out), batch,
                                                                                    rows, heads, head_dim);
    return cuda_status(cudaGetLastError(), "sf_state_merge kernel launch");
}

extern "C" SF_API int sf_state_finalize(const sf_state* state, const sf_view* out, sf_dtype out_dtype,
                                        const sf_view* lse, int64_t batch, int64_t rows, int64_t heads,
                                        int head_dim, void* stream) {
    int st;
    if ((st = check_shape(batch, rows, heads, head_dim))) return st;
    if ((st = check_state(state, "state", batch, rows, heads, head_dim))) return st;
    if (!out) return fail(SF_ERR_NULL_POINTER, "out is NULL");
    if (!dtype_valid(out_dtype)) return failf(SF_ERR_UNSUPPORTED_DTYPE, "out_dtype = %d", (int)out_dtype);
    if ((st = check_view(*out, "out", batch, rows, heads, head_dim, dtype_size(out_dtype), 1, true))) return st;
    V3 lv{nullptr, 0, 0, 0};
    if (lse && lse->ptr) {
        if ((st = check_view(*lse, "lse", batch, rows, heads, 1, 4, 1, true))) return st;
        lv = mkv(*lse);
    }
    const long long nrow = batch * rows * heads;
    cudaStream_t s = static_cast<cudaStream_t>(stream);
    const int g = grid_for(nrow, 8);
    if (out_dtype == SF_DTYPE_BF16)
        finalize_kernel<__nv_bfloat16><<<g, 256, 0, s>>>(mks(state), mkv(*out), lv, batch, rows, heads, head_dim);
    else if (out_dtype == SF_DTYPE_FP16)
        finalize_kernel<__half><<<g, 256, 0, s>>>(mks(state), mkv(*out), lv, batch, rows, heads, head_dim);
    else
        finalize_kernel<float><<<g, 256, 0, s>>>(mks(state), mkv(*out), lv, batch, rows, heads, head_dim);
    return cuda_status(cudaGetLastError(), "sf_state_finalize kernel launch");
}

extern "C" SF_API int sf_copy_strided(const sf_view* src, const sf_view* dst, int head_dim, sf_dtype dtype,
                                      void* stream) {
    if (!src) return fail(SF_ERR_NULL_POINTER, "src is NULL");
    if (!dst) return fail(SF_ERR_NULL_POINTER, "dst is NULL");
    if (!dtype_valid(dtype)) return failf(SF_ERR_UNSUPPORTED_DTYPE, "dtype = %d", (int)dtype);
    const int64_t B = src->batch, R = src->rows, H = src->heads;
    int st;
    if ((st = check_shape(B, R, H, head_dim))) return st;
    const size_t es = dtype_size(dtype);
    if ((st = check_view(*src, "src", B, R, H, head_dim, es, 1, false))) return st;
    if ((st = check_view(*dst, "dst", B, R, H, head_dim, es, 1, true))) return st;
    const long long ve = static_cast<long long>(16 / es);  // elements per 16-byte vector
    auto vec_ok = [&](const sf_view& v) {
        return reinterpret_cast<uintptr_t>(v.ptr) % 16 == 0 && v.stride_batch % ve == 0 && v.stride_row % ve == 0 &&
               v.stride_head % ve == 0;
    };
    cudaStream_t s = static_cast<cudaStream_t>(stream);
    const long long total_bytes = (long long)B * R * H * head_dim * (long long)es;
    if (packed(*src, B, R, H, head_dim) && packed(*dst, B, R, H, head_dim) && total_bytes % 16 == 0 &&
        reinterpret_cast<uintptr_t>(src->ptr) % 16 == 0 && reinterpret_cast<uintptr_t>(dst->ptr) % 16 == 0) {
        const long long n = total_bytes / 16;
        const long long tiles = (n + FLAT_THREADS * FLAT_UNROLL - 1) / (FLAT_THREADS * FLAT_UNROLL);
        const int grid = static_cast<int>(tiles < 1024 ? tiles : 1024);
        flat_copy_kernel<<<grid, FLAT_THREADS, 0, s>>>(static_cast<const uint4*>(src->ptr), static_cast<uint4*>(dst->ptr),
                                                       n);
        return cuda_status(cudaGetLastError(), "sf_copy_strided (flat) kernel launch");
    }
    V3 a = mkv(*src), b = mkv(*dst);
    if (head_dim % ve == 0 && vec_ok(*src) && vec_ok(*dst)) {
        a.sb /= ve; a.sr /= ve; a.sh /= ve;
        b.sb /= ve; b.sr /= ve; b.sh /= ve;
        const long long DU = head_dim / ve;
        copy_kernel<uint4><<<grid_for(B * R * H * DU, 256), 256, 0, s>>>(a, b, B, R, H, DU);
    } else if (es == 4) {
        copy_kernel<uint32_t><<<grid_for(B * R * H * head_dim, 256), 256, 0, s>>>(a, b, B, R, H, head_dim);
    } else {
        copy_kernel<uint16_t><<<grid_for(B * R * H * head_dim, 256), 256, 0, s>>>(a, b, B, R, H, head_dim);
    }
    return cuda_status(cudaGetLastError(), "sf_copy_strided kernel launch");
}
