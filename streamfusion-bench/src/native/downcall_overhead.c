/* The C side of DowncallBenchmark: ns per (cudaEventRecord + cudaStreamWaitEvent) pair, return codes
 * checked as the Java side checks them. Build: nvcc -O2 -o downcall_overhead downcall_overhead.c */
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHECK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { \
    fprintf(stderr, "%s: %s\n", #x, cudaGetErrorString(e_)); exit(1); } } while (0)

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
    cudaStream_t s;
    cudaEvent_t e;
    CHECK(cudaSetDevice(0));
    CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    const int n = 2000000;
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        for (int i = 0; i < n; i++) {
            CHECK(cudaEventRecord(e, s));
            CHECK(cudaStreamWaitEvent(s, e, 0));
        }
        double ns = (now() - t0) / n * 1e9;
        printf("C: %.1f ns per cudaEventRecord + cudaStreamWaitEvent (round %d)\n", ns, rep);
        if (ns < best) best = ns;
        CHECK(cudaStreamSynchronize(s));
    }
    printf("C best of 5: %.1f ns per pair\n", best);
    return 0;
}
