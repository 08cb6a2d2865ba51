/* Wrapper for jextract: the NVSHMEM host API only. nvshmemx.h pulls in C++ device headers
 * (cuda/std/tuple), so include nvshmem_host.h and supply what a C parse of it lacks. */
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#define static_assert _Static_assert
/* The half/bf16 typed variants appear in the host API; only their size matters to a C parse. */
typedef uint16_t half;
typedef uint16_t __nv_bfloat16;
#include <nvshmem_host.h>
