// All-to-all copy engines vs SM copies over NVLink, one process driving every visible GPU through
// peer access (the same NVLink mappings NVSHMEM hands out through nvshmem_ptr). It answers which
// mover a one-sided ScatterPush/GatherPull should use, before any Java is involved:
//   ce-push:  cudaMemcpyPeerAsync per peer chunk, split into P pieces on P streams
//   sm-push:  one kernel per GPU; K blocks per destination chunk load locally, store to the peer
//   sm-pull:  one kernel per GPU; K blocks per source chunk load from the peer, store locally
// Round time per GPU: from its start event until every GPU's copy into it has finished (its stream
// waits on the other GPUs' end events), after a host barrier; median over reps; bus bandwidth
// bytes*(N-1)/N / time as nccl-tests reports it; the maximum over GPUs of each round's time.
// Every variant's output is checked byte-exactly once.
//
// nvcc -O2 -gencode=arch=compute_90,code=sm_90 -o a2a_copy_bench a2a_copy_bench.cu
// ./a2a_copy_bench 64,256 20
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#define CK(x)                                                                                   \
    do {                                                                                        \
        cudaError_t e_ = (x);                                                                   \
        if (e_ != cudaSuccess) {                                                                \
            fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
            exit(1);                                                                            \
        }                                                                                       \
    } while (0)

constexpr int MAXSEG = 16;
struct Seg {
    uint4* dst;
    const uint4* src;
    long long n16;
    int block0;
    int nblocks;
};
struct SegTable {
    Seg s[MAXSEG];
    int nseg;
};

__device__ __forceinline__ uint4 ld_nc(const uint4* p) {
    uint4 v;
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
                 : "l"(p));
    return v;
}
__device__ __forceinline__ uint4 ld_vol(const uint4* p) {
    uint4 v;
    asm volatile("ld.volatile.global.v4.u32 {%0,%1,%2,%3}, [%4];"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
                 : "l"(p));
    return v;
}

template <int T, int U, bool NC>
__global__ void __launch_bounds__(T) seg_copy(SegTable t) {
    int si = 0;
    while (si + 1 < t.nseg && (int)blockIdx.x >= t.s[si + 1].block0) si++;
    const Seg s = t.s[si];
    const long long lb = blockIdx.x - s.block0;
    const long long tile = (long long)T * U;
    for (long long base = lb * tile; base < s.n16; base += (long long)s.nblocks * tile) {
        uint4 v[U];
#pragma unroll
        for (int u = 0; u < U; u++) {
            const long long i = base + (long long)u * T + threadIdx.x;
            if (i < s.n16) v[u] = NC ? ld_nc(s.src + i) : ld_vol(s.src + i);
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            const long long i = base + (long long)u * T + threadIdx.x;
            if (i < s.n16) s.dst[i] = v[u];
        }
    }
}

struct Gpu {
    uint4* send;
    uint4* recv;
    std::vector<cudaStream_t> streams;
    cudaEvent_t start, end, done;
};

static int N;
static std::vector<Gpu> g;

using Launch = void (*)(int dev, long long chunk16, int param, int t, int u);

template <int T, int U>
static void launch_seg(int dev, const SegTable& tab, int blocks, bool nc) {
    if (nc)
        seg_copy<T, U, true><<<blocks, T, 0, g[dev].streams[0]>>>(tab);
    else
        seg_copy<T, U, false><<<blocks, T, 0, g[dev].streams[0]>>>(tab);
}

static void launch_tab(int dev, const SegTable& tab, int blocks, int t, int u, bool nc) {
    if (t == 512 && u == 4) launch_seg<512, 4>(dev, tab, blocks, nc);
    else if (t == 512 && u == 8) launch_seg<512, 8>(dev, tab, blocks, nc);
    else if (t == 256 && u == 8) launch_seg<256, 8>(dev, tab, blocks, nc);
    else if (t == 1024 && u == 4) launch_seg<1024, 4>(dev, tab, blocks, nc);
    else if (t == 256 && u == 4) launch_seg<256, 4>(dev, tab, blocks, nc);
    else { fprintf(stderr, "no instance T=%d U=%d\n", t, u); exit(2); }
    CK(cudaGetLastError());
}

// Push: GPU dev sends chunk p of its send buffer into slot dev of p's receive buffer.
static void sm_push(int dev, long long c16, int k, int t, int u) {
    SegTable tab{};
    tab.nseg = N;
    for (int i = 0; i < N; i++) {
        int p = (dev + i) % N;  // start with a different peer on every GPU
        tab.s[i] = Seg{g[p].recv + dev * c16, g[dev].send + p * c16, c16, i * k, k};
    }
    launch_tab(dev, tab, N * k, t, u, true);
}
// Pull: GPU dev reads chunk dev of p's send buffer into slot p of its receive buffer.
static void sm_pull(int dev, long long c16, int k, int t, int u) {
    SegTable tab{};
    tab.nseg = N;
    for (int i = 0; i < N; i++) {
        int p = (dev + i) % N;
        tab.s[i] = Seg{g[dev].recv + p * c16, g[p].send + dev * c16, c16, i * k, k};
    }
    launch_tab(dev, tab, N * k, t, u, true);
}
static void ce_push(int dev, long long c16, int pieces, int, int) {
    long long piece = (c16 + pieces - 1) / pieces;
    int si = 0;
    for (int i = 0; i < N; i++) {
        int p = (dev + i) % N;
        for (int q = 0; q < pieces; q++) {
            long long off = q * piece, n = std::min(piece, c16 - off);
            if (n <= 0) break;
            cudaStream_t s = g[dev].streams[si++ % g[dev].streams.size()];
            CK(cudaMemcpyPeerAsync(g[p].recv + dev * c16 + off, p, g[dev].send + p * c16 + off, dev, n * 16, s));
        }
    }
}

static void round_all(Launch f, long long c16, int param, int t, int u, bool timed) {
    for (int d = 0; d < N; d++) { CK(cudaSetDevice(d)); CK(cudaDeviceSynchronize()); }
    for (int d = 0; d < N; d++) {
        CK(cudaSetDevice(d));
        CK(cudaEventRecord(g[d].start, g[d].streams[0]));
        for (size_t s = 1; s < g[d].streams.size(); s++) CK(cudaStreamWaitEvent(g[d].streams[s], g[d].start));
    }
    for (int d = 0; d < N; d++) {
        CK(cudaSetDevice(d));
        f(d, c16, param, t, u);
        for (size_t s = 1; s < g[d].streams.size(); s++) {
            CK(cudaEventRecord(g[d].done, g[d].streams[s]));
            CK(cudaStreamWaitEvent(g[d].streams[0], g[d].done));
        }
        CK(cudaEventRecord(g[d].end, g[d].streams[0]));
    }
    for (int d = 0; d < N; d++) {
        CK(cudaSetDevice(d));
        for (int p = 0; p < N; p++)
            if (p != d) CK(cudaStreamWaitEvent(g[d].streams[0], g[p].end));
        CK(cudaEventRecord(g[d].done, g[d].streams[0]));
    }
    (void)timed;
}

static float round_ms() {
    float worst = 0;
    for (int d = 0; d < N; d++) {
        CK(cudaSetDevice(d));
        CK(cudaEventSynchronize(g[d].done));
        float ms;
        CK(cudaEventElapsedTime(&ms, g[d].start, g[d].done));
        worst = std::max(worst, ms);
    }
    return worst;
}

static bool check(long long c16) {
    // send[d] word w of chunk p = d*0x01000000 + p*0x10000 + (w & 0xffff); recv[d] chunk p = send[p] chunk d.
    std::vector<uint32_t> h(c16 * 4 * N);
    for (int d = 0; d < N; d++) {
        CK(cudaSetDevice(d));
        CK(cudaMemcpy(h.data(), g[d].recv, h.size() * 4, cudaMemcpyDeviceToHost));
        for (int p = 0; p < N; p++)
            for (long long w = 0; w < c16 * 4; w += 4099) {
                uint32_t want = (uint32_t)p * 0x01000000u + (uint32_t)d * 0x10000u + (uint32_t)(w & 0xffff);
                if (h[p * c16 * 4 + w] != want) {
                    printf("  MISMATCH gpu %d chunk %d word %lld: %08x want %08x\n", d, p, w, h[p * c16 * 4 + w], want);
                    return false;
                }
            }
        CK(cudaMemset(g[d].recv, 0, h.size() * 4));
    }
    return true;
}

__global__ void fill(uint32_t* p, long long words_per_chunk, int n, int dev) {
    long long total = words_per_chunk * n;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
        long long c = i / words_per_chunk, w = i % words_per_chunk;
        p[i] = (uint32_t)dev * 0x01000000u + (uint32_t)c * 0x10000u + (uint32_t)(w & 0xffff);
    }
}

int main(int argc, char** argv) {
    std::string sizes = argc > 1 ? argv[1] : "64,256";
    int reps = argc > 2 ? atoi(argv[2]) : 20;
    CK(cudaGetDeviceCount(&N));
    if (N > MAXSEG) N = MAXSEG;
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("%d x %s, %d SMs, async engines %d\n", N, prop.name, prop.multiProcessorCount, prop.asyncEngineCount);
    g.resize(N);
    for (int d = 0; d < N; d++) {
        CK(cudaSetDevice(d));
        for (int p = 0; p < N; p++)
            if (p != d) {
                int ok = 0;
                CK(cudaDeviceCanAccessPeer(&ok, d, p));
                if (!ok) { printf("no peer access %d -> %d\n", d, p); return 1; }
                CK(cudaDeviceEnablePeerAccess(p, 0));
            }
        g[d].streams.resize(16);
        for (auto& s : g[d].streams) CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
        CK(cudaEventCreate(&g[d].start));
        CK(cudaEventCreate(&g[d].end));
        CK(cudaEventCreate(&g[d].done));
    }
    struct V { const char* name; Launch f; int param, t, u; };
    std::vector<V> vs = {
        {"ce-push pieces=1", ce_push, 1, 0, 0},   {"ce-push pieces=2", ce_push, 2, 0, 0},
        {"ce-push pieces=4", ce_push, 4, 0, 0},
        {"sm-push K=4 T=512 U=4", sm_push, 4, 512, 4},   {"sm-push K=8 T=512 U=4", sm_push, 8, 512, 4},
        {"sm-push K=16 T=512 U=4", sm_push, 16, 512, 4}, {"sm-push K=32 T=512 U=4", sm_push, 32, 512, 4},
        {"sm-push K=64 T=512 U=4", sm_push, 64, 512, 4}, {"sm-push K=16 T=512 U=8", sm_push, 16, 512, 8},
        {"sm-push K=32 T=512 U=8", sm_push, 32, 512, 8}, {"sm-push K=16 T=1024 U=4", sm_push, 16, 1024, 4},
        {"sm-push K=32 T=256 U=8", sm_push, 32, 256, 8}, {"sm-push K=8 T=256 U=4", sm_push, 8, 256, 4},
        {"sm-pull K=4 T=512 U=4", sm_pull, 4, 512, 4},   {"sm-pull K=8 T=512 U=4", sm_pull, 8, 512, 4},
        {"sm-pull K=16 T=512 U=4", sm_pull, 16, 512, 4}, {"sm-pull K=32 T=512 U=4", sm_pull, 32, 512, 4},
        {"sm-pull K=16 T=512 U=8", sm_pull, 16, 512, 8}, {"sm-pull K=32 T=512 U=8", sm_pull, 32, 512, 8},
    };
    size_t pos = 0;
    while (pos < sizes.size()) {
        size_t comma = sizes.find(',', pos);
        long long mib = atoll(sizes.substr(pos, comma - pos).c_str());
        pos = comma == std::string::npos ? sizes.size() : comma + 1;
        long long bytes = mib << 20, c16 = bytes / 16 / N;
        for (int d = 0; d < N; d++) {
            CK(cudaSetDevice(d));
            CK(cudaMalloc(&g[d].send, c16 * 16 * N));
            CK(cudaMalloc(&g[d].recv, c16 * 16 * N));
            fill<<<1024, 256>>>((uint32_t*)g[d].send, c16 * 4, N, d);
            CK(cudaMemset(g[d].recv, 0, c16 * 16 * N));
            CK(cudaDeviceSynchronize());
        }
        printf("-- %lld MiB per rank, %d ranks, median of %d\n", mib, N, reps);
        for (auto& v : vs) {
            round_all(v.f, c16, v.param, v.t, v.u, false);
            round_ms();
            bool ok = check(c16);
            for (int i = 0; i < 3; i++) round_all(v.f, c16, v.param, v.t, v.u, false), round_ms();
            std::vector<float> ms;
            for (int r = 0; r < reps; r++) {
                round_all(v.f, c16, v.param, v.t, v.u, true);
                ms.push_back(round_ms());
            }
            std::sort(ms.begin(), ms.end());
            float med = ms[reps / 2];
            printf("%-26s %8.3f ms  %7.1f GB/s  (min %.3f max %.3f) %s\n", v.name, med,
                   (double)bytes * (N - 1) / N / med / 1e6, ms[0], ms.back(), ok ? "exact" : "WRONG");
        }
        for (int d = 0; d < N; d++) { CK(cudaSetDevice(d)); CK(cudaFree(g[d].send)); CK(cudaFree(g[d].recv)); }
    }
    return 0;
}
