/* Wrapper for jextract: nccl.h needs the fixed-width types and the CUDA runtime types declared first. */
#include <stdint.h>
#include <stddef.h>
#include <cuda_runtime_api.h>
#include <nccl.h>
