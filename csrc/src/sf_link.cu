// sf_link_reserve / sf_link_wait: emulated inter-machine links. The real bytes still move over
// NVLink; these two one-thread kernels, enqueued around the transfer, make every consumer in stream
// order see it no earlier than a NIC of the configured bandwidth and latency would deliver it.
#include <cuda_runtime.h>

#include <cstdint>

#include "sf_common.h"

namespace sf {
namespace {

__device__ __forceinline__ unsigned long long global_timer_ns() {
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}

// The NIC's clock may be a peer GPU's word (a NIC per machine): system-scope CAS, so the GPUs of
// one machine queue behind each other on it.
__global__ void link_reserve_kernel(unsigned long long* busy_until, unsigned long long* done_at,
                                    unsigned long long duration) {
    const unsigned long long now = global_timer_ns();
    unsigned long long seen = atomicAdd_system(busy_until, 0ull);
    for (;;) {
        const unsigned long long start = seen > now ? seen : now;
        const unsigned long long done = start + duration;
        const unsigned long long prev = atomicCAS_system(busy_until, seen, done);
        if (prev == seen) {
            *done_at = done;
            return;
        }
        seen = prev;
    }
}

__global__ void link_wait_kernel(const unsigned long long* done_at) {
    const unsigned long long done = *(volatile const unsigned long long*)done_at;
    for (;;) {
        const unsigned long long now = global_timer_ns();
        if (now >= done) return;
        const unsigned long long left = done - now;
        // Sleep for part of what is left, so the spinning thread costs its SM little issue bandwidth;
        // the last 2 us are a busy wait, since __nanosleep may oversleep.
        if (left > 2000) __nanosleep((unsigned)(left / 2 < 200000 ? left / 2 : 200000));
    }
}

int check_word(const void* p, const char* name) {
    if (!p) return failf(SF_ERR_NULL_POINTER, "%s is NULL", name);
    if (reinterpret_cast<uintptr_t>(p) % 8 != 0)
        return failf(SF_ERR_MISALIGNED, "%s = %p is not 8-byte aligned", name, p);
    return SF_OK;
}

}  // namespace
}  // namespace sf

using namespace sf;

extern "C" SF_API int sf_link_reserve(uint64_t* busy_until_ns, uint64_t* done_at_ns, uint64_t duration_ns,
                                      void* stream) {
    if (int st = check_word(busy_until_ns, "busy_until_ns")) return st;
    if (int st = check_word(done_at_ns, "done_at_ns")) return st;
    link_reserve_kernel<<<1, 1, 0, static_cast<cudaStream_t>(stream)>>>(
        reinterpret_cast<unsigned long long*>(busy_until_ns), reinterpret_cast<unsigned long long*>(done_at_ns),
        static_cast<unsigned long long>(duration_ns));
    return cuda_status(cudaGetLastError(), "sf_link_reserve launch");
}

extern "C" SF_API int sf_link_wait(const uint64_t* done_at_ns, void* stream) {
    if (int st = check_word(done_at_ns, "done_at_ns")) return st;
    link_wait_kernel<<<1, 1, 0, static_cast<cudaStream_t>(stream)>>>(
        reinterpret_cast<const unsigned long long*>(done_at_ns));
    return cuda_status(cudaGetLastError(), "sf_link_wait launch");
}
