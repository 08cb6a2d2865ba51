// link_bench: the emulated inter-machine link (sf_link_reserve / sf_link_wait) on ONE GPU.
// Checks, each against the configured link: copies of 64 and 256 MiB through the emulated wait reach
// 6.25, 12.5 and 50 GB/s within 5%; two transfers through one NIC queue (from two streams started
// together, the second ends at ~2x); an unlimited link adds only its latency; and what the wait costs
// (reserve + wait with nothing to wait for). Prints a table; exit 0 = all checks passed, 1 = a check
// failed, 77 = no GPU. Run: bash csrc/scripts/link_bench.sh (logs to $OUT when set).
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "streamfusion.h"

#define CUDA_OK(x)                                                                                  \
    do {                                                                                            \
        cudaError_t e_ = (x);                                                                       \
        if (e_ != cudaSuccess) {                                                                    \
            std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
            std::exit(2);                                                                           \
        }                                                                                           \
    } while (0)
#define SF_OK_(x)                                                                                          \
    do {                                                                                                   \
        int s_ = (x);                                                                                      \
        if (s_ != SF_OK) {                                                                                 \
            std::fprintf(stderr, "%s failed: %s: %s\n", #x, sf_status_string(s_), sf_last_error_message()); \
            std::exit(2);                                                                                  \
        }                                                                                                  \
    } while (0)

static int failures = 0;
static const int REPEATS = 7;

static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

static uint64_t duration_ns(double bytes, double bytes_per_second, double latency_s, int messages) {
    double s = messages * latency_s + (std::isinf(bytes_per_second) ? 0.0 : bytes / bytes_per_second);
    return (uint64_t)std::llround(s * 1e9);
}

struct Fixture {
    uint64_t* words;  // [0] the NIC's clock, [1..15] done slots
    char* src;
    char* dst;
    char* dst2;
    cudaStream_t s0, s1, s2;
    cudaEvent_t e0, e1, e2;
};

static void check(bool ok, const char* what) {
    if (!ok) failures++;
    std::printf("  %-6s %s\n", ok ? "ok" : "FAILED", what);
}

// Time of one emulated copy of `bytes` (event to event, median of REPEATS), with or without the link.
static double timed_copy(Fixture& f, size_t bytes, bool emulate, uint64_t dur) {
    std::vector<double> ms;
    for (int r = 0; r < REPEATS + 1; r++) {
        CUDA_OK(cudaEventRecord(f.e0, f.s0));
        if (emulate) SF_OK_(sf_link_reserve(f.words, f.words + 1, dur, f.s0));
        if (bytes) CUDA_OK(cudaMemcpyAsync(f.dst, f.src, bytes, cudaMemcpyDeviceToDevice, f.s0));
        if (emulate) SF_OK_(sf_link_wait(f.words + 1, f.s0));
        CUDA_OK(cudaEventRecord(f.e1, f.s0));
        CUDA_OK(cudaEventSynchronize(f.e1));
        float t;
        CUDA_OK(cudaEventElapsedTime(&t, f.e0, f.e1));
        if (r > 0) ms.push_back(t);  // the first is a warm-up
    }
    return median(ms);
}

int main() {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
        std::printf("link_bench: no GPU (skipped)\n");
        return 77;
    }
    cudaDeviceProp p;
    CUDA_OK(cudaGetDeviceProperties(&p, 0));
    std::printf("link_bench: %s, %d SMs, ABI %d; median of %d; a check passes within 5%% of the configured link\n",
                p.name, p.multiProcessorCount, sf_abi_version(), REPEATS);
    Fixture f{};
    const size_t maxBytes = 256ull << 20;
    CUDA_OK(cudaMalloc(&f.words, 16 * sizeof(uint64_t)));
    CUDA_OK(cudaMemset(f.words, 0, 16 * sizeof(uint64_t)));
    CUDA_OK(cudaMalloc(&f.src, maxBytes));
    CUDA_OK(cudaMalloc(&f.dst, maxBytes));
    CUDA_OK(cudaMalloc(&f.dst2, maxBytes));
    CUDA_OK(cudaMemset(f.src, 1, maxBytes));
    for (cudaStream_t* s : {&f.s0, &f.s1, &f.s2}) CUDA_OK(cudaStreamCreateWithFlags(s, cudaStreamNonBlocking));
    for (cudaEvent_t* e : {&f.e0, &f.e1, &f.e2}) CUDA_OK(cudaEventCreate(e));

    // 1. Bandwidth.
    const double latency = 5e-6;
    std::printf("\n1. one copy through the emulated link (latency %.0f us per message)\n", latency * 1e6);
    std::printf("| MiB | link GB/s | expected ms | measured ms | achieved GB/s | achieved/configured | plain copy ms |\n");
    std::printf("| --- | --- | --- | --- | --- | --- | --- |\n");
    const double rates[] = {6.25e9, 12.5e9, 50e9};
    for (size_t mib : {64, 256}) {
        const size_t bytes = mib << 20;
        const double plain = timed_copy(f, bytes, false, 0);
        for (double bw : rates) {
            const uint64_t dur = duration_ns((double)bytes, bw, latency, 1);
            const double ms = timed_copy(f, bytes, true, dur);
            const double achieved = bytes / (ms * 1e-3 - latency);
            std::printf("| %zu | %.2f | %.3f | %.3f | %.3f | %.4f | %.3f |\n", mib, bw / 1e9, dur * 1e-6, ms,
                        achieved / 1e9, achieved / bw, plain);
            if (std::fabs(achieved / bw - 1) > 0.05) {
                failures++;
                std::printf("  FAILED: %zu MiB at %.2f GB/s is outside 5%%\n", mib, bw / 1e9);
            }
        }
    }

    // 2. Queueing: two transfers through one NIC.
    std::printf("\n2. two 64 MiB transfers through one NIC at 12.5 GB/s (T = one transfer's emulated time)\n");
    {
        const size_t bytes = 64ull << 20;
        const uint64_t dur = duration_ns((double)bytes, 12.5e9, latency, 1);
        const double T = dur * 1e-6;
        std::vector<double> first, second, serial;
        for (int r = 0; r < REPEATS + 1; r++) {
            // From two streams released by one event: the second reservation queues behind the first.
            CUDA_OK(cudaEventRecord(f.e0, f.s0));
            CUDA_OK(cudaStreamWaitEvent(f.s1, f.e0, 0));
            CUDA_OK(cudaStreamWaitEvent(f.s2, f.e0, 0));
            SF_OK_(sf_link_reserve(f.words, f.words + 2, dur, f.s1));
            CUDA_OK(cudaMemcpyAsync(f.dst, f.src, bytes, cudaMemcpyDeviceToDevice, f.s1));
            SF_OK_(sf_link_wait(f.words + 2, f.s1));
            SF_OK_(sf_link_reserve(f.words, f.words + 3, dur, f.s2));
            CUDA_OK(cudaMemcpyAsync(f.dst2, f.src, bytes, cudaMemcpyDeviceToDevice, f.s2));
            SF_OK_(sf_link_wait(f.words + 3, f.s2));
            CUDA_OK(cudaEventRecord(f.e1, f.s1));
            CUDA_OK(cudaEventRecord(f.e2, f.s2));
            CUDA_OK(cudaDeviceSynchronize());
            float a, b;
            CUDA_OK(cudaEventElapsedTime(&a, f.e0, f.e1));
            CUDA_OK(cudaEventElapsedTime(&b, f.e0, f.e2));
            // Which stream's reservation ran first is up to the scheduler: sort.
            if (r > 0) first.push_back(std::min(a, b)), second.push_back(std::max(a, b));
            // Back to back on one stream.
            CUDA_OK(cudaEventRecord(f.e0, f.s0));
            for (int k = 0; k < 2; k++) {
                SF_OK_(sf_link_reserve(f.words, f.words + 1, dur, f.s0));
                CUDA_OK(cudaMemcpyAsync(f.dst, f.src, bytes, cudaMemcpyDeviceToDevice, f.s0));
                SF_OK_(sf_link_wait(f.words + 1, f.s0));
            }
            CUDA_OK(cudaEventRecord(f.e1, f.s0));
            CUDA_OK(cudaEventSynchronize(f.e1));
            CUDA_OK(cudaEventElapsedTime(&a, f.e0, f.e1));
            if (r > 0) serial.push_back(a);
        }
        const double m1 = median(first), m2 = median(second), ms = median(serial);
        std::printf("| case | expected ms | measured ms | measured/expected |\n| --- | --- | --- | --- |\n");
        std::printf("| two streams, first to end | %.3f | %.3f | %.4f |\n", T, m1, m1 / T);
        std::printf("| two streams, second to end | %.3f | %.3f | %.4f |\n", 2 * T, m2, m2 / (2 * T));
        std::printf("| one stream, back to back | %.3f | %.3f | %.4f |\n", 2 * T, ms, ms / (2 * T));
        check(std::fabs(m1 / T - 1) < 0.05, "first of two concurrent transfers ends at T");
        check(std::fabs(m2 / (2 * T) - 1) < 0.05, "second of two concurrent transfers ends at 2T (queued, not overlapped)");
        check(std::fabs(ms / (2 * T) - 1) < 0.05, "two back-to-back transfers end at 2T");
    }

    // 3. Unlimited: no bandwidth cost, only latency; and the wait's own cost.
    std::printf("\n3. unlimited link (bandwidth cost 0) and the wait's overhead\n");
    {
        std::printf("| case | plain ms | through the link ms | difference us |\n| --- | --- | --- | --- |\n");
        for (size_t mib : {64, 256}) {
            const size_t bytes = mib << 20;
            const double plain = timed_copy(f, bytes, false, 0);
            const double unl = timed_copy(f, bytes, true, 0);
            std::printf("| %zu MiB copy, unlimited, latency 0 | %.4f | %.4f | %.1f |\n", mib, plain, unl, (unl - plain) * 1e3);
            check(unl <= plain * 1.02 + 0.02, "an unlimited link adds at most 2% + 20 us to a copy");
        }
        for (double lat_us : {0.0, 5.0, 20.0}) {
            const double plain = timed_copy(f, 4096, false, 0);
            const double unl = timed_copy(f, 4096, true, duration_ns(4096, INFINITY, lat_us * 1e-6, 1));
            std::printf("| 4 KiB copy, unlimited, latency %.0f us | %.4f | %.4f | %.1f |\n", lat_us, plain, unl,
                        (unl - plain) * 1e3);
            check(unl * 1e3 >= lat_us && unl * 1e3 <= lat_us + plain * 1e3 + 15,
                  "unlimited adds its latency and at most 15 us more");
        }
        // Overhead: reserve + wait with nothing to wait for, 2000 pairs back to back on one stream.
        const int pairs = 2000;
        std::vector<double> per;
        for (int r = 0; r < REPEATS; r++) {
            CUDA_OK(cudaEventRecord(f.e0, f.s0));
            for (int k = 0; k < pairs; k++) {
                SF_OK_(sf_link_reserve(f.words + 4, f.words + 5, 0, f.s0));
                SF_OK_(sf_link_wait(f.words + 5, f.s0));
            }
            CUDA_OK(cudaEventRecord(f.e1, f.s0));
            CUDA_OK(cudaEventSynchronize(f.e1));
            float t;
            CUDA_OK(cudaEventElapsedTime(&t, f.e0, f.e1));
            per.push_back(t * 1e3 / pairs);
        }
        std::printf("overhead of one unlimited, zero-latency wait (reserve + wait kernels, GPU time per pair, %d pairs): "
                    "%.2f us; each kernel is 1 block of 1 thread, so it holds one SM slot while it spins\n",
                    pairs, median(per));
    }
    std::printf("\n%s: %d check(s) failed\n", failures ? "FAILED" : "ALL PASSED", failures);
    return failures ? 1 : 0;
}
