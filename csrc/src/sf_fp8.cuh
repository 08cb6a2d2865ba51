// What the two e4m3 wires share (sf_fp8.cu, sf_fp8_centred.cu): element loads and stores in fp32, the
// block scale and the e4m3 constants.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace sf {
namespace {

constexpr float E4M3_MAX = 448.0f;
constexpr unsigned char E4M3_NAN = 0x7F;

template <typename T>
__device__ __forceinline__ float load_float(const T* p, long long i);
template <>
__device__ __forceinline__ float load_float<__nv_bfloat16>(const __nv_bfloat16* p, long long i) {
    return __bfloat162float(p[i]);
}
template <>
__device__ __forceinline__ float load_float<__half>(const __half* p, long long i) {
    return __half2float(p[i]);
}
template <>
__device__ __forceinline__ float load_float<float>(const float* p, long long i) {
    return p[i];
}

template <typename T>
__device__ __forceinline__ void store_float(T* p, long long i, float x);
template <>
__device__ __forceinline__ void store_float<__nv_bfloat16>(__nv_bfloat16* p, long long i, float x) {
    p[i] = __float2bfloat16_rn(x);
}
template <>
__device__ __forceinline__ void store_float<__half>(__half* p, long long i, float x) {
    p[i] = __float2half_rn(x);
}
template <>
__device__ __forceinline__ void store_float<float>(float* p, long long i, float x) {
    p[i] = x;
}

// amax/448, at least the smallest fp32 denormal: a tinier amax would make the scale 0 and x/scale NaN.
__device__ __forceinline__ float block_scale(float amax) {
    return amax > 0.0f ? fmaxf(amax / E4M3_MAX, 1.401298464e-45f) : 1.0f;
}

}  // namespace
}  // namespace sf
