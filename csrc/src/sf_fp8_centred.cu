// sf_fp8_quantize_centred / sf_fp8_dequantize_centred: the centred e4m3 wire of the inter-machine links
// (streamfusion.h; docs/algorithms.md, section 7). Written to give the bits of the Java codec that the CPU
// backend runs (streamfusion-core cpu/CentredFp8.java): the same float64 sums in the same order (one thread
// per channel, one per block), every fp32 and float64 operation rounded once (the __*_rn intrinsics keep
// nvcc from contracting them into FMAs), and the bf16 slots handed to the blocks over the limit in block
// order (a one-CTA scan), not in the order the blocks happen to finish.
//
// Quantize is four launches on the stream: centres (one thread per channel, the tokens in order), block
// sums and scales (one thread per block; a block over the limit marks its scale negative), slots (one CTA:
// ranks the marked blocks, gives the first ones a slot and restores the others' scales, adds the counts),
// codes (one thread per block). Dequantize is one launch, one thread per element. No vectorised path yet.
#include <cub/block/block_scan.cuh>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "sf_common.h"
#include "sf_fp8.cuh"

namespace sf {
namespace {

constexpr int CENTRED_THREADS = 256;
constexpr int SCAN_THREADS = 1024;
constexpr float CENTRE_LIMIT = 8.507059173023462e37f;  // 2^126: a channel reaching it is not centred

__device__ __forceinline__ unsigned short to_bf16_bits(float x) {
    const unsigned int bits = __float_as_uint(x);
    if (isnan(x)) return 0x7FC0u;  // the one quiet NaN: a NaN's payload is the arithmetic's, not the wire's
    return (unsigned short)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

__device__ __forceinline__ float from_bf16_bits(unsigned short b) { return __uint_as_float((unsigned int)b << 16); }

template <typename T>
__global__ void __launch_bounds__(CENTRED_THREADS)
    centres_kernel(const T* __restrict__ src, float* __restrict__ centres, long long tokens, int row) {
    const int channel = blockIdx.x * CENTRED_THREADS + threadIdx.x;
    if (channel >= row) return;
    double shift = 0.0, sum = 0.0;
    long long count = 0;
    float amax = 0.0f;
    for (long long t = 0; t < tokens; t++) {
        const float x = load_float(src, t * row + channel);
        if (isfinite(x)) {
            if (count == 0) shift = x;
            sum = __dadd_rn(sum, __dsub_rn((double)x, shift));
            count++;
            amax = fmaxf(amax, fabsf(x));
        }
    }
    centres[channel] = count == 0 || amax >= CENTRE_LIMIT
                           ? 0.0f
                           : __double2float_rn(__dadd_rn(shift, __ddiv_rn(sum, (double)count)));
}

template <typename T>
__global__ void __launch_bounds__(CENTRED_THREADS)
    scales_kernel(const T* __restrict__ src, const float* __restrict__ centres, float* __restrict__ scales,
                  long long blocks, int block, int row, double softmax_scale) {
    const long long b = (long long)blockIdx.x * CENTRED_THREADS + threadIdx.x;
    if (b >= blocks) return;
    const long long first = b * block;
    const int channel = (int)(first % row);
    double sum_squares = 0.0, centred_sum_squares = 0.0;
    float amax = 0.0f;
    for (int i = 0; i < block; i++) {
        const float x = load_float(src, first + i);
        const float y = __fsub_rn(x, centres[channel + i]);
        if (isfinite(x)) sum_squares = __dadd_rn(sum_squares, __dmul_rn((double)x, (double)x));
        if (isfinite(y)) {
            centred_sum_squares = __dadd_rn(centred_sum_squares, __dmul_rn((double)y, (double)y));
            amax = fmaxf(amax, fabsf(y));
        }
    }
    // Fp8Layout.logitError, left to right: ROUNDING_RMS * scale * |x| * |y| / sqrt(D).
    const double rounding_rms = __ddiv_rn(0.125, __dsqrt_rn(12.0));
    const double e = __ddiv_rn(__dmul_rn(__dmul_rn(__dmul_rn(rounding_rms, softmax_scale), __dsqrt_rn(sum_squares)),
                                         __dsqrt_rn(centred_sum_squares)),
                               __dsqrt_rn((double)block));
    const float scale = block_scale(amax);
    scales[b] = e > SF_FP8C_LOGIT_ERROR_LIMIT ? -scale : scale;
}

// One CTA: the marked (negative) scales in block order get slots 0, 1, ... while they last, written as
// -(slot + 1); the rest get their scale back. Adds the counts.
__global__ void __launch_bounds__(SCAN_THREADS)
    slots_kernel(float* __restrict__ scales, long long blocks, long long slots, unsigned long long* counts) {
    using Scan = cub::BlockScan<long long, SCAN_THREADS>;
    __shared__ typename Scan::TempStorage scratch;
    const long long per = (blocks + SCAN_THREADS - 1) / SCAN_THREADS;
    const long long lo = threadIdx.x * per;
    const long long hi = lo + per < blocks ? lo + per : blocks;
    long long marked = 0;
    for (long long b = lo; b < hi; b++) marked += scales[b] < 0.0f;
    long long rank = 0, total = 0;
    Scan(scratch).ExclusiveSum(marked, rank, total);
    for (long long b = lo; b < hi; b++) {
        const float s = scales[b];
        if (s < 0.0f) {
            scales[b] = rank < slots ? -(float)(rank + 1) : -s;
            rank++;
        }
    }
    if (threadIdx.x == 0) {
        const long long used = total < slots ? total : slots;
        atomicAdd(counts, (unsigned long long)used);
        atomicAdd(counts + 1, (unsigned long long)(total - used));
    }
}

template <typename T>
__global__ void __launch_bounds__(CENTRED_THREADS)
    codes_kernel(const T* __restrict__ src, const float* __restrict__ centres, const float* __restrict__ scales,
                 unsigned char* __restrict__ payload, unsigned short* __restrict__ patches, long long blocks, int block,
                 int row) {
    const long long b = (long long)blockIdx.x * CENTRED_THREADS + threadIdx.x;
    if (b >= blocks) return;
    const long long first = b * block;
    const int channel = (int)(first % row);
    const float scale = scales[b];
    if (scale < 0.0f) {
        unsigned short* patch = patches + ((long long)(-scale) - 1) * block;
        for (int i = 0; i < block; i++) {
            patch[i] = to_bf16_bits(__fsub_rn(load_float(src, first + i), centres[channel + i]));
            payload[first + i] = 0;
        }
        return;
    }
    for (int i = 0; i < block; i++) {
        const float y = __fsub_rn(load_float(src, first + i), centres[channel + i]);
        payload[first + i] =
            isfinite(y) ? (unsigned char)__nv_cvt_float_to_fp8(__fdiv_rn(y, scale), __NV_SATFINITE, __NV_E4M3) : E4M3_NAN;
    }
}

template <typename T>
__global__ void __launch_bounds__(CENTRED_THREADS)
    dequantize_centred_kernel(const unsigned char* __restrict__ payload, const float* __restrict__ scales,
                              const float* __restrict__ centres, const unsigned short* __restrict__ patches,
                              T* __restrict__ dst, long long n, int block, int row) {
    const long long stride = (long long)gridDim.x * CENTRED_THREADS;
    for (long long e = (long long)blockIdx.x * CENTRED_THREADS + threadIdx.x; e < n; e += stride) {
        const float scale = scales[e / block];
        float y;
        if (scale < 0.0f) {
            y = from_bf16_bits(patches[((long long)(-scale) - 1) * block + e % block]);
        } else {
            const __half_raw h = __nv_cvt_fp8_to_halfraw((__nv_fp8_storage_t)payload[e], __NV_E4M3);
            y = __fmul_rn(__half2float(__half(h)), scale);
        }
        store_float(dst, e, __fadd_rn(y, centres[e % row]));
    }
}

int check_centred(const void* tensor, const char* tensor_name, const void* wire, int dtype, int64_t n, int block,
                  int row) {
    if (!tensor) return failf(SF_ERR_NULL_POINTER, "%s is NULL", tensor_name);
    if (!wire) return fail(SF_ERR_NULL_POINTER, "wire is NULL");
    if (reinterpret_cast<uintptr_t>(tensor) % 16 != 0)
        return failf(SF_ERR_MISALIGNED, "%s = %p is not 16-byte aligned", tensor_name, tensor);
    if (reinterpret_cast<uintptr_t>(wire) % 16 != 0)
        return failf(SF_ERR_MISALIGNED, "wire = %p is not 16-byte aligned", wire);
    if (!dtype_valid(dtype)) return failf(SF_ERR_UNSUPPORTED_DTYPE, "dtype %d is not BF16, FP16 or FP32", dtype);
    if (block < 1 || block > SF_FP8_MAX_BLOCK)
        return failf(SF_ERR_INVALID_ARGUMENT, "block = %d is outside [1, %d]", block, SF_FP8_MAX_BLOCK);
    if (row < block || row % block != 0)
        return failf(SF_ERR_INVALID_ARGUMENT, "row = %d is not a positive multiple of block = %d", row, block);
    if (n < 1 || n % row != 0)
        return failf(SF_ERR_INVALID_ARGUMENT, "n = %lld is not a positive multiple of row = %d", (long long)n, row);
    return SF_OK;
}

int blocks_of(long long items) { return (int)((items + CENTRED_THREADS - 1) / CENTRED_THREADS); }

template <typename T>
int quantize_centred(const T* src, unsigned char* wire, int64_t n, int block, int row, double softmax_scale,
                     unsigned long long* counts, cudaStream_t s) {
    float* scales = reinterpret_cast<float*>(wire + SF_FP8C_SCALES_OFFSET(n));
    float* centres = reinterpret_cast<float*>(wire + SF_FP8C_CENTRES_OFFSET(n, block));
    unsigned short* patches = reinterpret_cast<unsigned short*>(wire + SF_FP8C_PATCHES_OFFSET(n, block, row));
    const long long blocks = n / block;
    centres_kernel<<<blocks_of(row), CENTRED_THREADS, 0, s>>>(src, centres, n / row, row);
    scales_kernel<<<blocks_of(blocks), CENTRED_THREADS, 0, s>>>(src, centres, scales, blocks, block, row, softmax_scale);
    slots_kernel<<<1, SCAN_THREADS, 0, s>>>(scales, blocks, SF_FP8C_SLOTS(n, block), counts);
    codes_kernel<<<blocks_of(blocks), CENTRED_THREADS, 0, s>>>(src, centres, scales, wire, patches, blocks, block, row);
    return cuda_status(cudaGetLastError(), "sf_fp8_quantize_centred launch");
}

template <typename T>
int dequantize_centred(const unsigned char* wire, T* dst, int64_t n, int block, int row, cudaStream_t s) {
    const long long wanted = blocks_of(n);
    const int grid = (int)(wanted < 65536 ? wanted : 65536);
    dequantize_centred_kernel<<<grid, CENTRED_THREADS, 0, s>>>(
        wire, reinterpret_cast<const float*>(wire + SF_FP8C_SCALES_OFFSET(n)),
        reinterpret_cast<const float*>(wire + SF_FP8C_CENTRES_OFFSET(n, block)),
        reinterpret_cast<const unsigned short*>(wire + SF_FP8C_PATCHES_OFFSET(n, block, row)), dst, n, block, row);
    return cuda_status(cudaGetLastError(), "sf_fp8_dequantize_centred launch");
}

}  // namespace
}  // namespace sf

using namespace sf;

extern "C" SF_API int sf_fp8_quantize_centred(const void* src, sf_dtype src_dtype, void* wire, int64_t n, int block,
                                              int row, double softmax_scale, int64_t* counts, void* stream) {
    if (int st = check_centred(src, "src", wire, src_dtype, n, block, row)) return st;
    if (!counts) return fail(SF_ERR_NULL_POINTER, "counts is NULL");
    if (reinterpret_cast<uintptr_t>(counts) % 8 != 0)
        return failf(SF_ERR_MISALIGNED, "counts = %p is not 8-byte aligned", (void*)counts);
    if (!(softmax_scale > 0.0) || std::isinf(softmax_scale))
        return failf(SF_ERR_INVALID_ARGUMENT, "softmax_scale = %g is not positive and finite", softmax_scale);
    unsigned char* w = static_cast<unsigned char*>(wire);
    unsigned long long* c = reinterpret_cast<unsigned long long*>(counts);
    const cudaStream_t s = static_cast<cudaStream_t>(stream);
    switch (src_dtype) {
        case SF_DTYPE_BF16:
            return quantize_centred(static_cast<const __nv_bfloat16*>(src), w, n, block, row, softmax_scale, c, s);
        case SF_DTYPE_FP16:
            return quantize_centred(static_cast<const __half*>(src), w, n, block, row, softmax_scale, c, s);
        default:
            return quantize_centred(static_cast<const float*>(src), w, n, block, row, softmax_scale, c, s);
    }
}

extern "C" SF_API int sf_fp8_dequantize_centred(const void* wire, void* dst, sf_dtype dst_dtype, int64_t n, int block,
                                                int row, void* stream) {
    if (int st = check_centred(dst, "dst", wire, dst_dtype, n, block, row)) return st;
    const unsigned char* w = static_cast<const unsigned char*>(wire);
    const cudaStream_t s = static_cast<cudaStream_t>(stream);
    switch (dst_dtype) {
        case SF_DTYPE_BF16:
            return dequantize_centred(w, static_cast<__nv_bfloat16*>(dst), n, block, row, s);
        case SF_DTYPE_FP16:
            return dequantize_centred(w, static_cast<__half*>(dst), n, block, row, s);
        default:
            return dequantize_centred(w, static_cast<float*>(dst), n, block, row, s);
    }
}
