// sf_common.h -- internal helpers: status/error reporting and view validation.
#pragma once

#include <cuda_runtime.h>
#include <stdint.h>


#include "streamfusion.h"

namespace sf {

// Record `msg` as this thread's last error message and return `status`.
int fail(int status, const char* msg);
// printf-style variant.
int failf(int status, const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
// If `e` is a CUDA error, record "<what>: <cudaGetErrorName>: <cudaGetErrorString>" and
// return it as the status; else return 0.
int cuda_status(cudaError_t e, const char* what);

inline size_t dtype_size(sf_dtype t) { return t == SF_DTYPE_FP32 ? 4 : 2; }
inline bool dtype_valid(int t) { return t == SF_DTYPE_BF16 || t == SF_DTYPE_FP16 || t == SF_DTYPE_FP32; }

// Validate a view against an expected shape (0 in the view = inherit).
// vec = required alignment of strides in elements (and ptr in vec*esize bytes).
// Returns 0 or an SF_ERR_* (message recorded). `name` names the argument.
int check_view(const sf_view& v, const char* name, int64_t B, int64_t R, int64_t H, int64_t D,
               size_t esize, int64_t vec, bool allow_shape_zero);

}  // namespace sf
