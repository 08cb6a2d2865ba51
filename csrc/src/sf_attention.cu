// sf_attention.cu -- sf_attention_fused: argument checks, the choice of kernel
// and its launch. The kernels are factored the way FlashAttention-3 factors its
// Hopper kernel (docs/kernels.md, "Design"):
//   sf_tile.cuh          parameters, TileScheduler, KvWalker, cp.async tile loader
//   sf_softmax.cuh       OnlineSoftmax: mask, running max, exp2, row sums, O rescale
//   sf_epilogue.cuh      carried-in state, epilogue (state, O = o / l, lse)
//   sf_mainloop_sm90.cuh one warpgroup's wgmma GEMMs and main-loop steps, ping-pong
//   sf_kernel_sm90.cuh   fused_attention_ws_kernel (TMA, warp-specialised) and
//                        fused_attention_wgmma_kernel (cp.async fallback)
//   sf_kernel_sm80.cuh   fused_attention_kernel (mma.sync)
//
// One path per architecture. Compute capability 9.0 (the sm_90a SASS):
// fused_attention_ws_kernel<PIPE, PP> with intra-warpgroup pipelining and
// ping-pong; a KV view that a TMA tensor map cannot describe (a zero stride)
// falls back to fused_attention_wgmma_kernel, unpipelined. Every other device
// (the sm_80 SASS): fused_attention_kernel.
// Built with -DSF_KERNEL_VARIANTS=ON (comparisons and tests only, never
// shipped), the environment variable SF_KERNEL picks another kernel:
//   ws_pipe_pp (the default above), ws_pipe, ws_pp, ws: the warp-specialised
//   kernel with or without pipelining / ping-pong; wgmma, wgmma_nopipe: the
//   cp.async kernel pipelined or not (unpipelined is the fallback above: the
//   pipelined form is serialised by ptxas, C7515, and measured slower);
//   mma: the mma.sync kernel on sm_90 too.
// Measured speeds and the history of each step: docs/kernels.md.
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include "sf_common.h"
#include "sf_kernel_sm80.cuh"
#include "sf_kernel_sm90.cuh"
#include "sf_split.cuh"
#include "sf_tile.cuh"

namespace sf {

// cuTensorMapEncodeTiled through the runtime's driver entry point (no -lcuda).
static PFN_cuTensorMapEncodeTiled_v12000 get_encode_fn() {
    static PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
        void* f = nullptr;
        cudaDriverEntryPointQueryResult q;
        if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &q) != cudaSuccess ||
            q != cudaDriverEntryPointSuccess)
            f = nullptr;
        (void)cudaGetLastError();
        return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(f);
    }();
    return fn;
}

// 4-D map of a [B, rows, H, D] view (dims innermost first: D, H, rows, B), box 64 x 1 x BC x 1.
static bool encode_kv_map(TmaMap* out, const void* ptr, long long B, long long rows, long long H, int D,
                          long long sb, long long sr, long long sh, bool bf16, int BC) {
    PFN_cuTensorMapEncodeTiled_v12000 enc = get_encode_fn();
    if (!enc) return false;
    // strides of extent-1 dimensions are never used: give them a harmless legal value
    if (H == 1) sh = D;
    if (B == 1) sb = sr * rows;
    cuuint64_t dims[4] = {(cuuint64_t)D, (cuuint64_t)H, (cuuint64_t)rows, (cuuint64_t)B};
    cuuint64_t strides[3] = {(cuuint64_t)sh * 2, (cuuint64_t)sr * 2, (cuuint64_t)sb * 2};
    cuuint32_t box[4] = {64, 1, (cuuint32_t)BC, 1};
    cuuint32_t estr[4] = {1, 1, 1, 1};
    for (int i = 0; i < 3; ++i)
        if (strides[i] == 0 || strides[i] % 16 != 0 || strides[i] >= (1ull << 40)) return false;
    CUresult r = enc(reinterpret_cast<CUtensorMap*>(out), bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16,
                     4, const_cast<void*>(ptr), dims, strides, box, estr, CU_TENSOR_MAP_INTERLEAVE_NONE,
                     CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    return r == CUDA_SUCCESS;
}


template <typename Params>
static int launch(void (*kern)(Params), const Params& p, int smem, int threads, int gx, int gy, cudaStream_t stream,
                  const char* what) {
    int st = cuda_status(cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, smem),
                         "cudaFuncSetAttribute(MaxDynamicSharedMemorySize)");
    if (st) return st;
    kern<<<dim3(gx, gy, 1), dim3(threads, 1, 1), smem, stream>>>(p);
    return cuda_status(cudaGetLastError(), what);
}

template <typename T, int D>
static int launch_mma(const FusedParams& p, int gx, int gy, cudaStream_t s) {
    return launch(fused_attention_kernel<T, D>, p, fused_smem_bytes<D>(), kThreads, gx, gy, s,
                  "sf_attention_fused kernel launch");
}
template <typename T, int D, bool PIPE>
static int launch_wgmma_v(const FusedParams& p, int gx, int gy, cudaStream_t s) {
    return launch(fused_attention_wgmma_kernel<T, D, PIPE>, p, wgmma_smem_bytes<D>(), kThreads, gx, gy, s,
                  "sf_attention_fused (wgmma) kernel launch");
}
template <typename T, int D, bool PIPE, bool PP>
static int launch_ws_v(const FusedParamsWS& pw, int gx, int gy, cudaStream_t s) {
    return launch(fused_attention_ws_kernel<T, D, PIPE, PP>, pw, ws_smem_bytes<D>(), kWsThreads, gx, gy, s,
                  "sf_attention_fused (warp-specialised) kernel launch");
}

// Which kernel (see the top of this file).
enum KernelChoice { K_WS_PIPE_PP = 0, K_WS_PIPE, K_WS_PP, K_WS, K_WGMMA, K_WGMMA_NOPIPE, K_MMA };
#if SF_KERNEL_VARIANTS
static int kernel_choice() {
    static const int v = [] {
        const char* e = getenv("SF_KERNEL");
        if (!e) return (int)K_WS_PIPE_PP;
        static const char* names[] = {"ws_pipe_pp", "ws_pipe", "ws_pp", "ws", "wgmma", "wgmma_nopipe", "mma"};
        for (int i = 0; i < 7; ++i)
            if (strcmp(e, names[i]) == 0) return i;
        return (int)K_WS_PIPE_PP;
    }();
    return v;
}
#else
static constexpr int kernel_choice() { return K_WS_PIPE_PP; }
#endif
static bool use_wgmma(int major, int minor) { return major == 9 && minor == 0 && kernel_choice() != K_MMA; }
static bool use_ws() { return kernel_choice() <= K_WS; }

// "<arr>[i].<field>" checked against the expected shape (messages name it so).
static int check_chunk_view(const sf_view& v, const char* arr, int i, const char* field, int64_t B, int64_t R,
                            int64_t H, int64_t D, size_t esize, int64_t vec, bool allow_shape_zero) {
    char name[96];
    snprintf(name, sizeof name, "%s[%d].%s", arr, i, field);
    return check_view(v, name, B, R, H, D, esize, vec, allow_shape_zero);
}
// A chunk's leading 16-bit input (q, or k): rows in [1, 2^30] (rows and tile
// counts are ints on the device), then its shape, strides and alignment.
static int check_lead_view(const sf_view& v, const char* arr, int i, const char* field, int64_t B, int64_t H,
                           int64_t D) {
    if (v.rows < 1 || v.rows > (int64_t)1 << 30)
        return failf(SF_ERR_INVALID_SHAPE, "%s[%d].%s.rows = %lld not in [1, 2^30]", arr, i, field, (long long)v.rows);
    return check_chunk_view(v, arr, i, field, B, v.rows, H, D, 2, 8, false);
}

template <typename T, int D>
static int launch_ws(const FusedParamsWS& pw, int gx, int gy, cudaStream_t s) {
#if SF_KERNEL_VARIANTS
    switch (kernel_choice()) {
        case K_WS_PIPE: return launch_ws_v<T, D, true, false>(pw, gx, gy, s);
        case K_WS_PP: return launch_ws_v<T, D, false, true>(pw, gx, gy, s);
        case K_WS: return launch_ws_v<T, D, false, false>(pw, gx, gy, s);
        default: break;
    }
#endif
    return launch_ws_v<T, D, true, true>(pw, gx, gy, s);
}
template <typename T, int D>
static int launch_wgmma(const FusedParams& p, int gx, int gy, cudaStream_t s) {
#if SF_KERNEL_VARIANTS
    if (kernel_choice() == K_WGMMA) return launch_wgmma_v<T, D, true>(p, gx, gy, s);
#endif
    return launch_wgmma_v<T, D, false>(p, gx, gy, s);
}
}  // namespace sf

using namespace sf;

extern "C" SF_API size_t sf_attention_workspace_bytes(int head_dim, int sm_count) {
    if (head_dim != 64 && head_dim != 128) return 0;
    if (sm_count == 0) {
        int dev = 0;
        if (cudaGetDevice(&dev) != cudaSuccess ||
            cudaDeviceGetAttribute(&sm_count, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess) {
            (void)cudaGetLastError();
            return 0;
        }
    }
    if (sm_count < 1) return 0;
    return SF_SPLIT_COUNTER_BYTES(sm_count) + 2 * (size_t)sm_count * split_slot_bytes(head_dim);
}

extern "C" SF_API int sf_attention_split_plan(int64_t work_tiles, int kv_tiles, int sm_count, int head_dim,
                                              size_t workspace_bytes, int64_t* unsplit_tiles, int* split_tiles,
                                              int* pieces) {
    if (!unsplit_tiles || !split_tiles || !pieces) return fail(SF_ERR_NULL_POINTER, "an output pointer is NULL");
    if (work_tiles < 1 || kv_tiles < 1 || sm_count < 1)
        return failf(SF_ERR_INVALID_ARGUMENT, "work_tiles = %lld, kv_tiles = %d, sm_count = %d must be >= 1",
                     (long long)work_tiles, kv_tiles, sm_count);
    if (head_dim != 64 && head_dim != 128)
        return failf(SF_ERR_UNSUPPORTED_HEAD_DIM, "head_dim = %d (supported: 64, 128)", head_dim);
    const SplitChoice c = plan_split(work_tiles, kv_tiles, sm_count, head_dim, workspace_bytes);
    *unsplit_tiles = c.unsplit_units;
    *split_tiles = c.split_tiles;
    *pieces = c.k;
    return SF_OK;
}

extern "C" SF_API int sf_attention_fused(const sf_q_chunk* q_chunks, int nq, const sf_kv_chunk* kv_chunks,
                                         int nkv, int head_dim, sf_dtype dtype, float softmax_scale,
                                         uint32_t flags, void* stream) {
    return sf_attention_fused_scheduled(q_chunks, nq, kv_chunks, nkv, head_dim, dtype, softmax_scale, flags, nullptr,
                                        stream);
}

extern "C" SF_API int sf_attention_fused_scheduled(const sf_q_chunk* q_chunks, int nq, const sf_kv_chunk* kv_chunks,
                                                   int nkv, int head_dim, sf_dtype dtype, float softmax_scale,
                                                   uint32_t flags, const sf_schedule* schedule, void* stream) {
    if (!q_chunks) return fail(SF_ERR_NULL_POINTER, "q_chunks is NULL");
    if (!kv_chunks) return fail(SF_ERR_NULL_POINTER, "kv_chunks is NULL");
    if (nq < 1 || nq > SF_MAX_Q_CHUNKS)
        return failf(SF_ERR_TOO_MANY_CHUNKS, "nq = %d not in [1, %d]", nq, SF_MAX_Q_CHUNKS);
    if (nkv < 1 || nkv > SF_MAX_KV_CHUNKS)
        return failf(SF_ERR_TOO_MANY_CHUNKS, "nkv = %d not in [1, %d]", nkv, SF_MAX_KV_CHUNKS);
    if (head_dim != 64 && head_dim != 128)
        return failf(SF_ERR_UNSUPPORTED_HEAD_DIM, "head_dim = %d (supported: 64, 128)", head_dim);
    if (dtype != SF_DTYPE_BF16 && dtype != SF_DTYPE_FP16)
        return failf(SF_ERR_UNSUPPORTED_DTYPE, "dtype = %d (attention supports SF_DTYPE_BF16, SF_DTYPE_FP16)",
                     (int)dtype);
    if (!(softmax_scale > 0.f) || !isfinite(softmax_scale))
        return failf(SF_ERR_INVALID_ARGUMENT, "softmax_scale = %g must be finite and > 0", (double)softmax_scale);
    if (flags & ~(SF_INIT | SF_FINALIZE | SF_WRITE_LSE))
        return failf(SF_ERR_INVALID_FLAGS, "flags = 0x%x has unknown bits", flags);

    const int64_t B = q_chunks[0].q.batch, H = q_chunks[0].q.heads, D = head_dim;
    if (B < 1 || H < 1) return failf(SF_ERR_INVALID_SHAPE, "q_chunks[0].q batch=%lld heads=%lld must be >= 1",
                                     (long long)B, (long long)H);
    if (B * H > 65535)
        return failf(SF_ERR_INVALID_SHAPE, "batch*heads = %lld exceeds 65535", (long long)(B * H));

    static FusedParams zero_params;  // zero-initialised template
    FusedParams p = zero_params;
    p.nq = nq;
    p.nkv = nkv;
    p.heads = static_cast<int>(H);
    p.scale_log2 = softmax_scale * kLog2e;
    p.init = (flags & SF_INIT) ? 1 : 0;
    p.finalize = (flags & SF_FINALIZE) ? 1 : 0;
    p.write_lse = (flags & SF_WRITE_LSE) ? 1 : 0;

    int has_state = -1;
    long long tiles = 0;
    for (int i = 0; i < nq; ++i) {
        const sf_q_chunk& c = q_chunks[i];
        int st = check_lead_view(c.q, "q_chunks", i, "q", B, H, D);
        if (st) return st;
        const bool hs = c.state.o.ptr || c.state.m.ptr || c.state.l.ptr;
        const int64_t R = c.q.rows;
        if (has_state == -1) has_state = hs ? 1 : 0;
        if ((hs ? 1 : 0) != has_state)
            return failf(SF_ERR_INVALID_ARGUMENT, "q_chunks[%d].state: either every chunk has a state or none", i);
        if (hs) {
            if ((st = check_chunk_view(c.state.o, "q_chunks", i, "state.o", B, R, H, D, 4, 4, true))) return st;
            if ((st = check_chunk_view(c.state.m, "q_chunks", i, "state.m", B, R, H, 1, 4, 1, true))) return st;
            if ((st = check_chunk_view(c.state.l, "q_chunks", i, "state.l", B, R, H, 1, 4, 1, true))) return st;
        } else if ((flags & (SF_INIT | SF_FINALIZE)) != (SF_INIT | SF_FINALIZE)) {
            return failf(SF_ERR_NULL_POINTER,
                         "q_chunks[%d].state pointers are NULL: allowed only with SF_INIT | SF_FINALIZE", i);
        }
        if ((flags & SF_FINALIZE) && (st = check_chunk_view(c.out, "q_chunks", i, "out", B, R, H, D, 2, 8, true)))
            return st;
        if ((flags & SF_WRITE_LSE) && (st = check_chunk_view(c.lse, "q_chunks", i, "lse", B, R, H, 1, 4, 1, true)))
            return st;
        QChunkDev& d = p.q[i];
        d.q = c.q.ptr; d.q_sb = c.q.stride_batch; d.q_sr = c.q.stride_row; d.q_sh = c.q.stride_head;
        d.o = (float*)c.state.o.ptr; d.o_sb = c.state.o.stride_batch; d.o_sr = c.state.o.stride_row; d.o_sh = c.state.o.stride_head;
        d.m = (float*)c.state.m.ptr; d.m_sb = c.state.m.stride_batch; d.m_sr = c.state.m.stride_row; d.m_sh = c.state.m.stride_head;
        d.l = (float*)c.state.l.ptr; d.l_sb = c.state.l.stride_batch; d.l_sr = c.state.l.stride_row; d.l_sh = c.state.l.stride_head;
        if (flags & SF_FINALIZE) { d.out = c.out.ptr; d.out_sb = c.out.stride_batch; d.out_sr = c.out.stride_row; d.out_sh = c.out.stride_head; }
        if (flags & SF_WRITE_LSE) { d.lse = (float*)c.lse.ptr; d.lse_sb = c.lse.stride_batch; d.lse_sr = c.lse.stride_row; d.lse_sh = c.lse.stride_head; }
        d.rows = static_cast<int>(R);
        d.tile_start = static_cast<int>(tiles);
        tiles += (R + kBR - 1) / kBR;
    }
    if (tiles > 0x7fffffff) return fail(SF_ERR_INVALID_SHAPE, "too many Q tiles");
    p.has_state = has_state;

    int dev = 0, major = 0;
    int st0 = cuda_status(cudaGetDevice(&dev), "cudaGetDevice");
    if (st0) return st0;
    int minor = 0;
    if ((st0 = cuda_status(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev),
                           "cudaDeviceGetAttribute")))
        return st0;
    if ((st0 = cuda_status(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev),
                           "cudaDeviceGetAttribute")))
        return st0;
    if (major < 8) return failf(SF_ERR_UNSUPPORTED_DEVICE, "device %d has compute capability %d.x < 8.0", dev, major);
    int device_sms = 0;
    if ((st0 = cuda_status(cudaDeviceGetAttribute(&device_sms, cudaDevAttrMultiProcessorCount, dev),
                           "cudaDeviceGetAttribute")))
        return st0;
    int sms = device_sms;
    if (schedule) {
        if (schedule->sm_count < 0 || schedule->reserved != 0)
            return failf(SF_ERR_INVALID_ARGUMENT, "schedule->sm_count = %d must be >= 0 (0: the device's), reserved = %d must be 0",
                         schedule->sm_count, schedule->reserved);
        if (schedule->sm_count > 0) sms = schedule->sm_count < device_sms ? schedule->sm_count : device_sms;
        if (schedule->workspace && (reinterpret_cast<uintptr_t>(schedule->workspace) & 255))
            return fail(SF_ERR_MISALIGNED, "schedule->workspace is not 256-byte aligned");
    }
    const bool wgmma = use_wgmma(major, minor);
    const int BC = wgmma ? 128 : (head_dim == 64 ? KvTileCfg<64>::BC : KvTileCfg<128>::BC);
    long long kv_tiles = 0;
    for (int j = 0; j < nkv; ++j) {
        const sf_kv_chunk& c = kv_chunks[j];
        int st = check_lead_view(c.k, "kv_chunks", j, "k", B, H, D);
        if (st) return st;
        const int64_t R = c.k.rows;
        if ((st = check_chunk_view(c.v, "kv_chunks", j, "v", B, R, H, D, 2, 8, false))) return st;
        KVChunkDev& d = p.kv[j];
        d.k = c.k.ptr; d.k_sb = c.k.stride_batch; d.k_sr = c.k.stride_row; d.k_sh = c.k.stride_head;
        d.v = c.v.ptr; d.v_sb = c.v.stride_batch; d.v_sr = c.v.stride_row; d.v_sh = c.v.stride_head;
        d.rows = static_cast<int>(R);
        kv_tiles += (R + BC - 1) / BC;
    }
    if (kv_tiles > 0x7fffffff) return fail(SF_ERR_INVALID_SHAPE, "too many KV tiles");
    p.total_kv_tiles = static_cast<int>(kv_tiles);

    cudaStream_t s = static_cast<cudaStream_t>(stream);
    int gx = static_cast<int>(tiles), gy = static_cast<int>(B * H);
    p.q_tiles = gx;
    p.unsplit_units = (long long)gx * gy;
    p.split_k = 1;
    if (wgmma && use_ws() && schedule && schedule->workspace) {
        const SplitChoice c = plan_split(p.unsplit_units, p.total_kv_tiles, sms, head_dim, schedule->workspace_bytes);
        if (c.k > 1) {
            const size_t counters = SF_SPLIT_COUNTER_BYTES(sms);
            {
                p.unsplit_units = c.unsplit_units;
                p.split_k = c.k;
                p.split_tiles = c.split_tiles;
                p.split_counters = static_cast<unsigned int*>(schedule->workspace);
                p.split_partials = reinterpret_cast<float*>(static_cast<char*>(schedule->workspace) + counters);
                const long long units = c.unsplit_units + (long long)c.split_tiles * c.k;
                if (units > 0x7fffffff) return fail(SF_ERR_INVALID_SHAPE, "too many work units");
                gx = static_cast<int>(units);
                gy = 1;
            }
        }
    }
    if (wgmma && use_ws()) {
        // TMA tensor maps per KV chunk; any view TMA cannot describe -> cp.async wgmma kernel below.
        static thread_local FusedParamsWS ws_params;  // ~17 KB; copied into the launch
        FusedParamsWS* pw = &ws_params;
        pw->p = p;
        bool ok = true;
        for (int j = 0; j < nkv && ok; ++j) {
            const sf_kv_chunk& c = kv_chunks[j];
            ok = encode_kv_map(&pw->kmap[j], c.k.ptr, B, c.k.rows, H, head_dim, c.k.stride_batch, c.k.stride_row,
                               c.k.stride_head, dtype == SF_DTYPE_BF16, 128) &&
                 encode_kv_map(&pw->vmap[j], c.v.ptr, B, c.v.rows, H, head_dim, c.v.stride_batch, c.v.stride_row,
                               c.v.stride_head, dtype == SF_DTYPE_BF16, 128);
        }
        int rc = 0;
        if (ok) {
            if (dtype == SF_DTYPE_BF16)
                rc = head_dim == 64 ? launch_ws<__nv_bfloat16, 64>(*pw, gx, gy, s)
                                    : launch_ws<__nv_bfloat16, 128>(*pw, gx, gy, s);
            else
                rc = head_dim == 64 ? launch_ws<__half, 64>(*pw, gx, gy, s) : launch_ws<__half, 128>(*pw, gx, gy, s);
        }
        if (ok) return rc;
        // No tensor map: the kernels below take whole tiles only.
        p.split_k = 1;
        p.unsplit_units = (long long)p.q_tiles * (B * H);
        gx = p.q_tiles;
        gy = static_cast<int>(B * H);
    }
    if (wgmma) {
        if (dtype == SF_DTYPE_BF16)
            return head_dim == 64 ? launch_wgmma<__nv_bfloat16, 64>(p, gx, gy, s)
                                  : launch_wgmma<__nv_bfloat16, 128>(p, gx, gy, s);
        return head_dim == 64 ? launch_wgmma<__half, 64>(p, gx, gy, s) : launch_wgmma<__half, 128>(p, gx, gy, s);
    }
    if (dtype == SF_DTYPE_BF16)
        return head_dim == 64 ? launch_mma<__nv_bfloat16, 64>(p, gx, gy, s) : launch_mma<__nv_bfloat16, 128>(p, gx, gy, s);
    return head_dim == 64 ? launch_mma<__half, 64>(p, gx, gy, s) : launch_mma<__half, 128>(p, gx, gy, s);
}
