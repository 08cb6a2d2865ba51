// sf_fp8_quantize / sf_fp8_dequantize: the e4m3 wire format of the inter-machine links
// (streamfusion.h). Memory-bound; the wire is about half the bytes of bf16. A vectorised path for 16-bit
// tensors with D-sized blocks (below), and a generic one: one warp per block, which finds the block's
// amax and then converts its strided elements.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "sf_common.h"
#include "sf_fp8.cuh"

namespace sf {
namespace {

constexpr int FP8_THREADS = 256;
constexpr int FP8_WARPS = FP8_THREADS / 32;
__device__ __forceinline__ float warp_max(float x) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, offset));
    return x;
}

template <typename T>
__global__ void __launch_bounds__(FP8_THREADS)
    fp8_quantize_kernel(const T* __restrict__ src, unsigned char* __restrict__ payload, float* __restrict__ scales,
                        long long blocks, int block) {
    const int lane = threadIdx.x % 32;
    for (long long b = (long long)blockIdx.x * FP8_WARPS + threadIdx.x / 32; b < blocks;
         b += (long long)gridDim.x * FP8_WARPS) {
        const long long base = b * block;
        float amax = 0.0f;
        for (int i = lane; i < block; i += 32) {
            const float x = load_float(src, base + i);
            if (isfinite(x)) amax = fmaxf(amax, fabsf(x));
        }
        amax = warp_max(amax);
        const float scale = block_scale(amax);
        if (lane == 0) scales[b] = scale;
        for (int i = lane; i < block; i += 32) {
            const float x = load_float(src, base + i);
            payload[base + i] = isfinite(x) ? (unsigned char)__nv_cvt_float_to_fp8(x / scale, __NV_SATFINITE, __NV_E4M3)
                                            : E4M3_NAN;
        }
    }
}

template <typename T>
__global__ void __launch_bounds__(FP8_THREADS)
    fp8_dequantize_kernel(const unsigned char* __restrict__ payload, const float* __restrict__ scales,
                          T* __restrict__ dst, long long blocks, int block) {
    const int lane = threadIdx.x % 32;
    for (long long b = (long long)blockIdx.x * FP8_WARPS + threadIdx.x / 32; b < blocks;
         b += (long long)gridDim.x * FP8_WARPS) {
        const long long base = b * block;
        const float scale = scales[b];
        for (int i = lane; i < block; i += 32) {
            const __half_raw h = __nv_cvt_fp8_to_halfraw((__nv_fp8_storage_t)payload[base + i], __NV_E4M3);
            store_float(dst, base + i, __half2float(__half(h)) * scale);
        }
    }
}

// The fast path for 16-bit tensors whose block is 8 * 2^k elements (k <= 5; D = 64 and 128 among them):
// each thread owns 8 consecutive elements (one 16-byte load, one 8-byte store of e4m3), the block's
// threads (block/8 of them, inside one warp) reduce amax with shuffles, and nothing is read twice.
constexpr int VEC = 8;

__device__ __forceinline__ float group_max(float x, int lanes) {
    for (int offset = lanes / 2; offset > 0; offset >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, offset));
    return x;
}

template <typename T>
__device__ __forceinline__ void unpack8(const uint4& raw, float (&x)[VEC]) {
    const T* h = reinterpret_cast<const T*>(&raw);
#pragma unroll
    for (int i = 0; i < VEC; i++) x[i] = load_float(h, i);
}

template <typename T>
__global__ void __launch_bounds__(FP8_THREADS)
    fp8_quantize_vec_kernel(const T* __restrict__ src, unsigned char* __restrict__ payload,
                            float* __restrict__ scales, long long vectors, int lanes_per_block) {
    const long long stride = (long long)gridDim.x * FP8_THREADS;
    // Every lane of a warp runs the same number of iterations (vectors is a multiple of the group size and the
    // groups tile the warp), so the shuffles always see a full warp.
    const long long rounded = (vectors + 31) / 32 * 32;
    for (long long v = (long long)blockIdx.x * FP8_THREADS + threadIdx.x; v < rounded; v += stride) {
        const bool live = v < vectors;
        float x[VEC];
        if (live) {
            unpack8<T>(__ldg(reinterpret_cast<const uint4*>(src) + v), x);
        } else {
#pragma unroll
            for (int i = 0; i < VEC; i++) x[i] = 0.0f;
        }
        float amax = 0.0f;
#pragma unroll
        for (int i = 0; i < VEC; i++)
            if (isfinite(x[i])) amax = fmaxf(amax, fabsf(x[i]));
        amax = group_max(amax, lanes_per_block);
        if (!live) continue;
        const float scale = block_scale(amax);
        if ((threadIdx.x & (lanes_per_block - 1)) == 0) scales[v / lanes_per_block] = scale;
        unsigned char q[VEC];
#pragma unroll
        for (int i = 0; i < VEC; i++)
            q[i] = isfinite(x[i]) ? (unsigned char)__nv_cvt_float_to_fp8(x[i] / scale, __NV_SATFINITE, __NV_E4M3)
                                  : E4M3_NAN;
        *reinterpret_cast<uint2*>(payload + v * VEC) = *reinterpret_cast<const uint2*>(q);
    }
}

template <typename T>
__global__ void __launch_bounds__(FP8_THREADS)
    fp8_dequantize_vec_kernel(const unsigned char* __restrict__ payload, const float* __restrict__ scales,
                              T* __restrict__ dst, long long vectors, int lanes_per_block) {
    const long long stride = (long long)gridDim.x * FP8_THREADS;
    for (long long v = (long long)blockIdx.x * FP8_THREADS + threadIdx.x; v < vectors; v += stride) {
        const uint2 raw = __ldg(reinterpret_cast<const uint2*>(payload) + v);
        const unsigned char* q = reinterpret_cast<const unsigned char*>(&raw);
        const float scale = __ldg(scales + v / lanes_per_block);
        uint4 out;
        T* o = reinterpret_cast<T*>(&out);
#pragma unroll
        for (int i = 0; i < VEC; i++) {
            const __half_raw h = __nv_cvt_fp8_to_halfraw((__nv_fp8_storage_t)q[i], __NV_E4M3);
            store_float(o, i, __half2float(__half(h)) * scale);
        }
        reinterpret_cast<uint4*>(dst)[v] = out;
    }
}

// block/8 when that is a power of two in [1, 32], else 0 (the generic kernels run).
int vector_lanes(int block, int dtype) {
    if (dtype == SF_DTYPE_FP32 || block % VEC != 0) return 0;
    const int lanes = block / VEC;
    return lanes <= 32 && (lanes & (lanes - 1)) == 0 ? lanes : 0;
}

int check_args(const void* tensor, const char* tensor_name, const void* wire, int dtype, int64_t n, int block) {
    if (!tensor) return failf(SF_ERR_NULL_POINTER, "%s is NULL", tensor_name);
    if (!wire) return fail(SF_ERR_NULL_POINTER, "wire is NULL");
    if (reinterpret_cast<uintptr_t>(tensor) % 16 != 0)
        return failf(SF_ERR_MISALIGNED, "%s = %p is not 16-byte aligned", tensor_name, tensor);
    if (reinterpret_cast<uintptr_t>(wire) % 16 != 0)
        return failf(SF_ERR_MISALIGNED, "wire = %p is not 16-byte aligned", wire);
    if (!dtype_valid(dtype)) return failf(SF_ERR_UNSUPPORTED_DTYPE, "dtype %d is not BF16, FP16 or FP32", dtype);
    if (block < 1 || block > SF_FP8_MAX_BLOCK)
        return failf(SF_ERR_INVALID_ARGUMENT, "block = %d is outside [1, %d]", block, SF_FP8_MAX_BLOCK);
    if (n < 1 || n % block != 0)
        return failf(SF_ERR_INVALID_ARGUMENT, "n = %lld is not a positive multiple of block = %d", (long long)n, block);
    return SF_OK;
}

int grid_for(long long blocks, int per_cta = FP8_WARPS) {
    int device = 0, sms = 0;
    cudaGetDevice(&device);
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
    const long long wanted = (blocks + per_cta - 1) / per_cta;
    const long long cap = (long long)(sms > 0 ? sms : 1) * 16;
    return (int)(wanted < cap ? wanted : cap);
}

}  // namespace
}  // namespace sf

using namespace sf;

extern "C" SF_API int sf_fp8_quantize(const void* src, sf_dtype src_dtype, void* wire, int64_t n, int block,
                                      void* stream) {
    if (int st = check_args(src, "src", wire, src_dtype, n, block)) return st;
    unsigned char* payload = static_cast<unsigned char*>(wire);
    float* scales = reinterpret_cast<float*>(payload + SF_FP8_SCALES_OFFSET(n));
    const long long blocks = n / block;
    const cudaStream_t s = static_cast<cudaStream_t>(stream);
    if (const int lanes = vector_lanes(block, src_dtype)) {
        const long long vectors = n / VEC;
        const int grid = grid_for(vectors, FP8_THREADS);
        if (src_dtype == SF_DTYPE_BF16)
            fp8_quantize_vec_kernel<<<grid, FP8_THREADS, 0, s>>>(static_cast<const __nv_bfloat16*>(src), payload,
                                                                 scales, vectors, lanes);
        else
            fp8_quantize_vec_kernel<<<grid, FP8_THREADS, 0, s>>>(static_cast<const __half*>(src), payload, scales,
                                                                 vectors, lanes);
        return cuda_status(cudaGetLastError(), "sf_fp8_quantize launch");
    }
    const int grid = grid_for(blocks);
    switch (src_dtype) {
        case SF_DTYPE_BF16:
            fp8_quantize_kernel<<<grid, FP8_THREADS, 0, s>>>(static_cast<const __nv_bfloat16*>(src), payload, scales,
                                                             blocks, block);
            break;
        case SF_DTYPE_FP16:
            fp8_quantize_kernel<<<grid, FP8_THREADS, 0, s>>>(static_cast<const __half*>(src), payload, scales, blocks,
                                                             block);
            break;
        default:
            fp8_quantize_kernel<<<grid, FP8_THREADS, 0, s>>>(static_cast<const float*>(src), payload, scales, blocks,
                                                             block);
            break;
    }
    return cuda_status(cudaGetLastError(), "sf_fp8_quantize launch");
}

extern "C" SF_API int sf_fp8_dequantize(const void* wire, void* dst, sf_dtype dst_dtype, int64_t n, int block,
                                        void* stream) {
    if (int st = check_args(dst, "dst", wire, dst_dtype, n, block)) return st;
    const unsigned char* payload = static_cast<const unsigned char*>(wire);
    const float* scales = reinterpret_cast<const float*>(payload + SF_FP8_SCALES_OFFSET(n));
    const long long blocks = n / block;
    const cudaStream_t s = static_cast<cudaStream_t>(stream);
    if (const int lanes = vector_lanes(block, dst_dtype)) {
        const long long vectors = n / VEC;
        const int grid = grid_for(vectors, FP8_THREADS);
        if (dst_dtype == SF_DTYPE_BF16)
            fp8_dequantize_vec_kernel<<<grid, FP8_THREADS, 0, s>>>(payload, scales, static_cast<__nv_bfloat16*>(dst),
                                                                   vectors, lanes);
        else
            fp8_dequantize_vec_kernel<<<grid, FP8_THREADS, 0, s>>>(payload, scales, static_cast<__half*>(dst), vectors,
                                                                   lanes);
        return cuda_status(cudaGetLastError(), "sf_fp8_dequantize launch");
    }
    const int grid = grid_for(blocks);
    switch (dst_dtype) {
        case SF_DTYPE_BF16:
            fp8_dequantize_kernel<<<grid, FP8_THREADS, 0, s>>>(payload, scales, static_cast<__nv_bfloat16*>(dst),
                                                               blocks, block);
            break;
        case SF_DTYPE_FP16:
            fp8_dequantize_kernel<<<grid, FP8_THREADS, 0, s>>>(payload, scales, static_cast<__half*>(dst), blocks,
                                                               block);
            break;
        default:
            fp8_dequantize_kernel<<<grid, FP8_THREADS, 0, s>>>(payload, scales, static_cast<float*>(dst), blocks,
                                                               block);
            break;
    }
    return cuda_status(cudaGetLastError(), "sf_fp8_dequantize launch");
}
