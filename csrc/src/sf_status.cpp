// sf_status.cpp -- status strings, thread-local error text, view checks.
#include <stdarg.h>
#include <stdio.h>

#include "sf_common.h"

namespace sf {

static thread_local char t_last_error[1024];

int fail(int status, const char* msg) {
    snprintf(t_last_error, sizeof t_last_error, "%s", msg);
    return status;
}

int failf(int status, const char* fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    snprintf(t_last_error, sizeof t_last_error, "%s", buf);
    return status;
}

int cuda_status(cudaError_t e, const char* what) {
    if (e == cudaSuccess) return 0;
    return failf(static_cast<int>(e), "%s: CUDA error %d %s: %s", what, static_cast<int>(e),
                 cudaGetErrorName(e), cudaGetErrorString(e));
}

int check_view(const sf_view& v, const char* name, int64_t B, int64_t R, int64_t H, int64_t D,
               size_t esize, int64_t vec, bool allow_shape_zero) {
    if (v.ptr == nullptr) return failf(SF_ERR_NULL_POINTER, "%s.ptr is NULL", name);
    const int64_t want[3] = {B, R, H};
    const int64_t have[3] = {v.batch, v.rows, v.heads};
    static const char* fld[3] = {"batch", "rows", "heads"};
    for (int i = 0; i < 3; ++i) {
        if (have[i] == 0 && allow_shape_zero) continue;
        if (have[i] != want[i])
            return failf(SF_ERR_INVALID_SHAPE, "%s.%s = %lld, expected %lld", name, fld[i],
                         (long long)have[i], (long long)want[i]);
    }
    const int64_t st[3] = {v.stride_batch, v.stride_row, v.stride_head};
    static const char* sn[3] = {"stride_batch", "stride_row", "stride_head"};
    for (int i = 0; i < 3; ++i) {
        if (st[i] < 0)
            return failf(SF_ERR_INVALID_STRIDE, "%s.%s = %lld is negative", name, sn[i], (long long)st[i]);
        if (vec > 1 && st[i] % vec != 0)
            return failf(SF_ERR_INVALID_STRIDE, "%s.%s = %lld is not a multiple of %lld elements", name,
                         sn[i], (long long)st[i], (long long)vec);
    }
    const uintptr_t align = static_cast<uintptr_t>(vec > 1 ? vec * esize : esize);
    if (reinterpret_cast<uintptr_t>(v.ptr) % align != 0)
        return failf(SF_ERR_MISALIGNED, "%s.ptr %p is not %zu-byte aligned", name, v.ptr, (size_t)align);
    (void)D;
    return 0;
}

}  // namespace sf

extern "C" {

SF_API const char* sf_status_string(int status) {
    switch (status) {
        case SF_OK: return "SF_OK";
        case SF_ERR_NULL_POINTER: return "SF_ERR_NULL_POINTER: a required pointer is NULL";
        case SF_ERR_INVALID_SHAPE: return "SF_ERR_INVALID_SHAPE: batch/rows/heads invalid or mismatched";
        case SF_ERR_INVALID_STRIDE: return "SF_ERR_INVALID_STRIDE: a stride is negative or misaligned";
        case SF_ERR_MISALIGNED: return "SF_ERR_MISALIGNED: a base pointer is insufficiently aligned";
        case SF_ERR_UNSUPPORTED_DTYPE: return "SF_ERR_UNSUPPORTED_DTYPE: dtype not allowed for this call";
        case SF_ERR_UNSUPPORTED_HEAD_DIM: return "SF_ERR_UNSUPPORTED_HEAD_DIM: head_dim must be 64 or 128";
        case SF_ERR_TOO_MANY_CHUNKS: return "SF_ERR_TOO_MANY_CHUNKS: nq/nkv out of range";
        case SF_ERR_INVALID_FLAGS: return "SF_ERR_INVALID_FLAGS: unknown flag bits or bad combination";
        case SF_ERR_INVALID_ARGUMENT: return "SF_ERR_INVALID_ARGUMENT: bad argument";
        case SF_ERR_UNSUPPORTED_DEVICE: return "SF_ERR_UNSUPPORTED_DEVICE: device older than sm_80";
        default: break;
    }
    if (status > 0) return cudaGetErrorString(static_cast<cudaError_t>(status));
    return "unknown StreamFusion status";
}

SF_API const char* sf_last_error_message(void) { return sf::t_last_error; }

SF_API int sf_abi_version(void) { return SF_ABI_VERSION; }

}  // extern "C"
