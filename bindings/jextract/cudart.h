/* Wrapper for jextract: the CUDA runtime host API (cuda_runtime_api.h only, no C++ or device headers). */
#include <stdint.h>
#include <stddef.h>
#include <cuda_runtime_api.h>
