/*
 * streamfusion.h -- C ABI of libstreamfusion (StreamFusion-J native kernels).
 *
 * Pure C (C99): parsed by jextract (libclang) to generate the Java bindings.
 * Includes only <stdint.h> and <stddef.h>; no CUDA headers. CUDA streams are
 * passed as `void*` (a cudaStream_t; NULL = the legacy default stream).
 *
 * Layout convention. Every tensor is a *view* of a logical array
 *     [batch, rows, heads, D]
 * with D contiguous (stride 1) and the other three strides given in ELEMENTS
 * of the view's own dtype. Per-row/per-head scalars (m, l, lse) use the same
 * sf_view with an implied D = 1.
 *
 * Status. Every function returns an int: 0 (SF_OK) on success; a positive
 * value is a cudaError_t (from the launch or from a CUDA runtime call); a
 * negative value is one of the SF_ERR_* codes below (bad argument, detected
 * before anything is launched). sf_status_string() names any status;
 * sf_last_error_message() returns thread-local text describing the last
 * failure on the calling thread (the argument and the rule it broke, or
 * CUDA's own error string). All launches are asynchronous on `stream`; errors
 * that happen while a kernel runs surface at the next synchronising call, as
 * usual in CUDA.
 *
 * Thread safety: functions may be called from several host threads at once.
 * The library keeps no global device state apart from a one-time
 * cudaFuncSetAttribute per kernel and device; the split-KV workspace of
 * sf_attention_fused_scheduled is the caller's.
 */
#ifndef STREAMFUSION_H
#define STREAMFUSION_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define SF_API __declspec(dllexport)
#else
#define SF_API __attribute__((visibility("default")))
#endif

/* ABI version: bumped on any incompatible change of this header. */
#define SF_ABI_VERSION 6

/* ---- status codes (negative: argument errors; positive: cudaError_t) ---- */
#define SF_OK 0
#define SF_ERR_NULL_POINTER (-1)       /* a required pointer is NULL            */
#define SF_ERR_INVALID_SHAPE (-2)      /* batch/rows/heads < 1 or mismatched     */
#define SF_ERR_INVALID_STRIDE (-3)     /* a stride is negative or misaligned     */
#define SF_ERR_MISALIGNED (-4)         /* a base pointer is not 16-byte aligned  */
#define SF_ERR_UNSUPPORTED_DTYPE (-5)  /* dtype not allowed for this call        */
#define SF_ERR_UNSUPPORTED_HEAD_DIM (-6) /* head_dim not 64 or 128 (attention)   */
#define SF_ERR_TOO_MANY_CHUNKS (-7)    /* nq > SF_MAX_Q_CHUNKS or nkv > SF_MAX_KV_CHUNKS */
#define SF_ERR_INVALID_FLAGS (-8)      /* unknown flag bits or bad combination   */
#define SF_ERR_INVALID_ARGUMENT (-9)   /* any other bad argument (see message)   */
#define SF_ERR_UNSUPPORTED_DEVICE (-10) /* current device is older than sm_80    */

/* ---- data types ---- */
typedef enum sf_dtype {
    SF_DTYPE_BF16 = 0, /* Q, K, V, O; copy kernel           */
    SF_DTYPE_FP16 = 1, /* Q, K, V, O; copy kernel           */
    SF_DTYPE_FP32 = 2  /* state (o, m, l, lse); copy kernel  */
} sf_dtype;

/* ---- flags of sf_attention_fused ---- */
/* Ignore the carried-in state: start from m = -inf, l = 0, o = 0
 * (the state buffers are then write-only; they may hold garbage/NaN). */
#define SF_INIT 1u
/* After folding all KV chunks, write O = o / l in the input dtype to the
 * chunk's `out` view (which must then be non-NULL). The state (o, m, l) is
 * still written back as well, so a FINALIZE launch can be continued. */
#define SF_FINALIZE 2u
/* Also write lse = m + log(l) (natural log, fp32) to the chunk's `lse` view
 * (which must then be non-NULL). Rows with l == 0 get lse = -inf. */
#define SF_WRITE_LSE 4u

/* Fixed maximum chunk counts of one fused launch (the descriptors travel in a
 * __grid_constant__ kernel parameter of fixed size). */
#define SF_MAX_Q_CHUNKS 32
#define SF_MAX_KV_CHUNKS 32

/* A strided view of a logical [batch, rows, heads, D] array, D contiguous.
 * Strides are in elements of the view's dtype and must be >= 0. */
typedef struct sf_view {
    void* ptr;            /* device pointer                                   */
    int64_t batch;        /* B  (>= 1)                                        */
    int64_t rows;         /* S  (>= 1; any value, not only tile multiples)    */
    int64_t heads;        /* H  (>= 1)                                        */
    int64_t stride_batch; /* elements between [b,s,h,0] and [b+1,s,h,0]      */
    int64_t stride_row;   /* elements between [b,s,h,0] and [b,s+1,h,0]      */
    int64_t stride_head;  /* elements between [b,s,h,0] and [b,s,h+1,0]      */
} sf_view;

/* Partial attention state of one Q chunk, all fp32:
 *   o [batch, rows, heads, D]   unnormalised output  sum_j exp(s_j - m) v_j
 *   m [batch, rows, heads]      running max of the SCALED scores (natural units)
 *   l [batch, rows, heads]      running sum exp(s_j - m)
 * For o/m/l the shape fields batch/rows/heads may be 0 (= same as the owning
 * Q view / the call's shape); if non-zero they must match. */
typedef struct sf_state {
    sf_view o;
    sf_view m;
    sf_view l;
} sf_state;

/* One Q chunk of a fused launch. */
typedef struct sf_q_chunk {
    sf_view q;       /* [B, rows_q, H, D] in the call's dtype                  */
    sf_state state;  /* read at start (unless SF_INIT), written at the end     */
    sf_view out;     /* O in the call's dtype; used only with SF_FINALIZE      */
    sf_view lse;     /* fp32 [B, rows_q, H]; used only with SF_WRITE_LSE       */
} sf_q_chunk;

/* One (K, V) chunk pair of a fused launch: same batch, rows and heads. */
typedef struct sf_kv_chunk {
    sf_view k;       /* [B, rows_kv, H, D] in the call's dtype */
    sf_view v;       /* [B, rows_kv, H, D] in the call's dtype */
} sf_kv_chunk;

/*
 * sf_attention_fused -- fold every KV chunk into the state of every Q chunk,
 * in one kernel launch (non-causal, no mask):
 *
 *   for each Q chunk i, batch b, head h, row r:
 *     s_j = scale * <q[b,r,h,:], k[b,j,h,:]>   over all rows j of all KV chunks
 *     (m, l, o) <- merge((m, l, o)_carried, (max s, sum exp(s-max), sum exp(s-max) v))
 *
 * Requirements:
 *  - 1 <= nq <= SF_MAX_Q_CHUNKS, 1 <= nkv <= SF_MAX_KV_CHUNKS;
 *  - head_dim 64 or 128; dtype SF_DTYPE_BF16 or SF_DTYPE_FP16;
 *  - all chunks share batch and heads; each chunk has its own rows (>= 1);
 *  - q/k/v/out pointers 16-byte aligned, their row/head/batch strides
 *    multiples of 8 elements; state o strides multiples of 4 elements;
 *    m/l/lse any stride (fp32 scalars);
 *  - softmax_scale > 0 and finite (typically 1/sqrt(head_dim));
 *  - flags: any OR of SF_INIT, SF_FINALIZE, SF_WRITE_LSE;
 *  - outputs (state, out, lse) must not overlap any input of the same call
 *    except that a chunk's state is read and written in place;
 *  - stateless one-shot use: with SF_INIT | SF_FINALIZE a chunk's state.o,
 *    state.m and state.l ptr may all be NULL together; the state is then
 *    neither read nor written (only out, and lse if asked). Otherwise all
 *    three are required.
 * Grid: x = sum over Q chunks of ceil(rows_q / 128) tiles (each block finds
 * its chunk by binary search over the prefix sum), y = batch * heads.
 * The kernel runs on the current CUDA device; pointers must be on it.
 */
SF_API int sf_attention_fused(const sf_q_chunk* q_chunks, int nq,
                              const sf_kv_chunk* kv_chunks, int nkv,
                              int head_dim, sf_dtype dtype, float softmax_scale,
                              uint32_t flags, void* stream);

/*
 * sf_attention_fused_scheduled -- sf_attention_fused, with the launch sized to
 * the SMs it may use and, given a workspace, the last waves filled by splitting
 * the KV range of the tiles that would leave them partly empty.
 *
 * Work is counted in Q tiles of 128 rows times batch * heads (T), each one block
 * on one SM. With P SMs, T tiles take ceil(T / P) waves; when the last wave is
 * partly empty, the tiles of the last one to three waves may each be split into
 * k KV ranges (2 <= k <= 8, at most the KV tiles), the pieces of one tile merged
 * by the piece that finishes last (the fp32 state merge of docs/algorithms.md,
 * section 2, in piece order, so results do not depend on timing). The rule, in
 * units of one block's time for one 128-row KV tile (n of them per tile):
 *   cost(unsplit) = ceil(T / P) * (n + 1)
 *   cost(w, k)    = w * (n + 1) + ceil(s * k / P) * (ceil(n / k) + 1) + 0.35 k + 8,
 *                   s = T - w * P the tiles after w full waves,
 * and the cheapest split is taken when it is at least 1% below cost(unsplit)
 * and its s * k pieces fit the workspace. The split changes only the order of
 * fp32 additions (results agree with the unsplit launch to fp32 rounding).
 * Only the sm_90a TMA kernel splits; the other paths ignore the workspace.
 */
typedef struct sf_schedule {
    int sm_count;           /* SMs the launch may occupy: 0 = the current device's count;
                               a partition's share (a green context) where the caller runs in one */
    int reserved;           /* 0 */
    void* workspace;        /* device memory for the split pieces' partial states, or NULL (never split) */
    size_t workspace_bytes; /* its size in bytes */
} sf_schedule;

/*
 * Bytes of workspace that let sf_attention_fused_scheduled split any launch of
 * head_dim (64 or 128) on sm_count SMs (0 = the current device's). The first
 * SF_SPLIT_COUNTER_BYTES(sm_count) bytes are counters: they must be zero before
 * the first launch that uses the workspace (cudaMemset once); every launch leaves
 * them zero. A workspace serves one stream: launches that share it must be
 * ordered (the same stream, or one CUDA graph). Returns 0 for a bad argument.
 */
#define SF_SPLIT_COUNTER_BYTES(sm_count) ((((size_t)(sm_count) * 16) + 255) / 256 * 256)
SF_API size_t sf_attention_workspace_bytes(int head_dim, int sm_count);

/*
 * The split sf_attention_fused_scheduled chooses for `work_tiles` = Q tiles (all chunks, 128 rows
 * each) times batch * heads, `kv_tiles` 128-row KV tiles, on sm_count SMs with workspace_bytes of
 * workspace (the sm_90a path): *unsplit_tiles whole tiles launched first, then *split_tiles tiles
 * in *pieces pieces each (*pieces = 1, *split_tiles = 0: no split). Host only; no device needed.
 */
SF_API int sf_attention_split_plan(int64_t work_tiles, int kv_tiles, int sm_count, int head_dim,
                                   size_t workspace_bytes, int64_t* unsplit_tiles, int* split_tiles,
                                   int* pieces);

/* As sf_attention_fused; schedule may be NULL (the device's SMs, no workspace). */
SF_API int sf_attention_fused_scheduled(const sf_q_chunk* q_chunks, int nq,
                                        const sf_kv_chunk* kv_chunks, int nkv,
                                        int head_dim, sf_dtype dtype, float softmax_scale,
                                        uint32_t flags, const sf_schedule* schedule, void* stream);

/*
 * sf_state_merge -- out = merge(a, b), elementwise over [batch, rows, heads]
 * (and D for o), as in docs/algorithms.md, section 2. -inf maxima are handled without NaN
 * (merging two empty states gives m = -inf, l = 0, o = 0). `out` may alias
 * `a` or `b` exactly (same pointers and strides). All fp32. head_dim any >= 1;
 * o strides need no alignment (vectorised when aligned).
 */
SF_API int sf_state_merge(const sf_state* a, const sf_state* b, const sf_state* out,
                          int64_t batch, int64_t rows, int64_t heads, int head_dim,
                          void* stream);

/*
 * sf_state_finalize -- out = o / l in `out_dtype` (bf16, fp16 or fp32); rows
 * with l == 0 give 0. Optional lse (fp32, may have ptr NULL) = m + log(l).
 */
SF_API int sf_state_finalize(const sf_state* state, const sf_view* out, sf_dtype out_dtype,
                             const sf_view* lse, int64_t batch, int64_t rows,
                             int64_t heads, int head_dim, void* stream);

/*
 * sf_copy_strided -- dst[b, s, h, :] = src[b, s, h, :] for the logical shape
 * [src.batch, src.rows, src.heads, head_dim] (head-slice gather/scatter between
 * [B,S,H,D] buffers). dst's batch/rows/heads may be 0 (= same as src) or must
 * match. Same dtype on both sides: bf16, fp16 or fp32. 16-byte vectorised
 * when pointers and strides allow, element-wise otherwise. src and dst must
 * not overlap.
 */
SF_API int sf_copy_strided(const sf_view* src, const sf_view* dst, int head_dim,
                           sf_dtype dtype, void* stream);

/* ---- sf_copy_segments ---- */
#define SF_MAX_COPY_SEGMENTS 64

/* One byte range to copy: dst and src may be peer addresses (NVLink mappings such as
 * nvshmem_ptr returns) as well as local ones. */
typedef struct sf_copy_segment {
    void* dst;
    const void* src;
    int64_t bytes;
} sf_copy_segment;

/*
 * sf_copy_segments -- copy every segment with one kernel in which each segment has
 * its own blocks, so copies to (or from) different peers run side by side, each
 * block loading 16-byte vectors before storing them. This is the mover of the
 * one-sided primitives over NVLink: SM stores reach the links' aggregate bandwidth
 * where copy engines do not. Each thread ends with a system-scope fence, so the
 * stores are performed before the kernel completes (a barrier on the same stream
 * then publishes them). Segments must not overlap each other's destinations or
 * their own sources. Each segment moves vectors of the widest of 16, 8, 4, 2
 * or 1 bytes to which both its dst and src are aligned, then its tail bytes.
 * count in [0, SF_MAX_COPY_SEGMENTS]; bytes >= 0 (0 = nothing);
 * blocks_per_segment <= 0 picks one from the segment count (at most 4096 are used).
 */
SF_API int sf_copy_segments(const sf_copy_segment* segments, int count, int blocks_per_segment,
                            void* stream);

/* ---- emulated inter-machine links (sf_link.cu) ---- */

/*
 * A NIC is a clock: one 8-byte-aligned uint64_t in device memory holding the %globaltimer time (ns)
 * until which the NIC is busy (0 = idle since ever). It may be another GPU's word mapped here
 * (nvshmem_ptr over NVLink), shared by several GPUs: it is updated with system-scope atomics.
 * A transfer that crosses the emulated link is bracketed, in stream order, by
 *
 * sf_link_reserve -- one thread, before the transfer: start = max(now, *busy_until_ns);
 * done = start + duration_ns; *busy_until_ns = done (compare-and-swap); *done_at_ns = done.
 * The emulated transfer thus starts when the real one does, and transfers through one NIC queue in
 * the order their reservations run, with no host round trip. duration_ns = latency per message
 * times messages + bytes / bandwidth, computed by the caller.
 *
 * sf_link_wait -- one thread, after the transfer: spins (with __nanosleep) until %globaltimer >=
 * *done_at_ns, so work after it on the stream, and events recorded behind it, see the transfer no
 * earlier than the emulated link would deliver it. It holds one block of one SM while it waits.
 *
 * done_at_ns is a per-transfer slot the caller owns until the wait has run.
 */
SF_API int sf_link_reserve(uint64_t* busy_until_ns, uint64_t* done_at_ns, uint64_t duration_ns, void* stream);
SF_API int sf_link_wait(const uint64_t* done_at_ns, void* stream);


/* ---- FP8 (e4m3) wire format of the inter-machine links (sf_fp8.cu) ---- */
/*
 * n elements in blocks of `block` consecutive elements (block divides n; one head's D-vector of one
 * token when the library uses it) travel as n e4m3 bytes followed, at byte offset
 * SF_FP8_SCALES_OFFSET(n), by n/block fp32 scales:
 *   scale = amax/448 over the block's finite values, at least 2^-149 (1 when none is non-zero),
 *   q     = e4m3(x/scale), fp32 division, round to nearest even, saturating at +-448;
 *           a NaN or infinite x becomes the e4m3 NaN 0x7F (e4m3 has no infinity);
 *   x'    = float(q)*scale, rounded to the destination type.
 * sf_fp8_quantize reads src (src_dtype) and writes the wire; sf_fp8_dequantize the reverse. src/dst
 * must be 16-byte aligned, the wire 16-byte aligned and SF_FP8_WIRE_BYTES(n, block) long; 1 <= block
 * <= 4096. src and wire (dst and wire) must not overlap.
 */
#define SF_FP8_SCALES_OFFSET(n) ((((n) + 15) / 16) * 16)
#define SF_FP8_WIRE_BYTES(n, block) (SF_FP8_SCALES_OFFSET(n) + 4 * ((n) / (block)))
#define SF_FP8_MAX_BLOCK 4096
SF_API int sf_fp8_quantize(const void* src, sf_dtype src_dtype, void* wire, int64_t n, int block, void* stream);
SF_API int sf_fp8_dequantize(const void* wire, void* dst, sf_dtype dst_dtype, int64_t n, int block, void* stream);

/* ---- FP8 (e4m3) centred wire: what the library's inter-machine links carry (sf_fp8_centred.cu) ---- */
/*
 * n elements in rows of `row` (one token: heads x D, the channels; row is a multiple of block and
 * divides n) and blocks of `block` (one head of one token). Every part starts on 16 bytes:
 *   [0, n)                          e4m3 codes of the centred values (0 for a block sent in bf16)
 *   SF_FP8C_SCALES_OFFSET(n)        n/block fp32: the block's scale, or -(slot + 1) for a block in bf16
 *   SF_FP8C_CENTRES_OFFSET(n, b)    row fp32 centres
 *   SF_FP8C_PATCHES_OFFSET(n, b, r) SF_FP8C_SLOTS(n, b) slots of `block` bf16 values
 * centre c of a channel = the mean of its finite values over the n/row tokens, summed in float64 from its
 *   first finite value, in token order, rounded to fp32; 0 if none is finite or one reaches 2^126;
 * per block, y = x - c (fp32): scale = amax|y|/448 over finite y, at least 2^-149 (1 if none is non-zero);
 *   e = 0.125/sqrt(12) * softmax_scale * |x| * |y| / sqrt(block) (float64, norms of the finite values);
 *   e > SF_FP8C_LOGIT_ERROR_LIMIT: the block takes the next free slot, in block order, and travels as
 *   bf16(y) (round to nearest even); with no slot left it stays e4m3;
 *   otherwise q = e4m3(y/scale) as in sf_fp8_quantize;
 * received: x' = float(q)*scale + c, or float(bf16) + c, each fp32 operation rounded once, then rounded
 *   to the destination type.
 * sf_fp8_quantize_centred adds the blocks sent in bf16 to counts[0] and those over the limit left in e4m3
 * to counts[1] (device memory, 8-byte aligned). Tensors and wire 16-byte aligned, not overlapping.
 */
#define SF_FP8C_ALIGN16(x) ((((x) + 15) / 16) * 16)
#define SF_FP8C_BLOCKS_PER_SLOT 32
#define SF_FP8C_LOGIT_ERROR_LIMIT 0.1
#define SF_FP8C_SLOTS(n, block) (((n) / (block) + SF_FP8C_BLOCKS_PER_SLOT - 1) / SF_FP8C_BLOCKS_PER_SLOT)
#define SF_FP8C_SCALES_OFFSET(n) SF_FP8C_ALIGN16(n)
#define SF_FP8C_CENTRES_OFFSET(n, block) SF_FP8C_ALIGN16(SF_FP8C_SCALES_OFFSET(n) + 4 * ((n) / (block)))
#define SF_FP8C_PATCHES_OFFSET(n, block, row) SF_FP8C_ALIGN16(SF_FP8C_CENTRES_OFFSET(n, block) + 4 * (int64_t)(row))
#define SF_FP8C_WIRE_BYTES(n, block, row) \
    SF_FP8C_ALIGN16(SF_FP8C_PATCHES_OFFSET(n, block, row) + 2 * SF_FP8C_SLOTS(n, block) * (int64_t)(block))
SF_API int sf_fp8_quantize_centred(const void* src, sf_dtype src_dtype, void* wire, int64_t n, int block, int row,
                                   double softmax_scale, int64_t* counts, void* stream);
SF_API int sf_fp8_dequantize_centred(const void* wire, void* dst, sf_dtype dst_dtype, int64_t n, int block, int row,
                                     void* stream);

/* Name of a status (SF_* codes and cudaError_t values). Never NULL. */
SF_API const char* sf_status_string(int status);

/* Thread-local description of the last failure on this thread ("" if none). */
SF_API const char* sf_last_error_message(void);

/* SF_ABI_VERSION of the built library. */
SF_API int sf_abi_version(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* STREAMFUSION_H */
