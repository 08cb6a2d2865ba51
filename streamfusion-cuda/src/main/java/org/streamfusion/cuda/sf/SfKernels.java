package org.streamfusion.cuda.sf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Objects;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.bindings.sf.Streamfusion;
import org.streamfusion.bindings.sf.sf_copy_segment;
import org.streamfusion.bindings.sf.sf_kv_chunk;
import org.streamfusion.bindings.sf.sf_q_chunk;
import org.streamfusion.bindings.sf.sf_schedule;
import org.streamfusion.bindings.sf.sf_state;
import org.streamfusion.bindings.sf.sf_view;
import org.streamfusion.cuda.CudaStream;

/**
 * The kernels of libstreamfusion behind a safe, binding-free API: views are records of device
 * addresses and strides; every status is checked ({@link StreamfusionLibrary#check}), so a failure
 * carries sf_last_error_message or CUDA's own error string.
 */
public final class SfKernels {
    /** Element types of the C ABI. */
    public enum ElementType {
        BF16, FP16, FP32;

        int code() {
            return switch (this) {
                case BF16 -> Streamfusion.SF_DTYPE_BF16();
                case FP16 -> Streamfusion.SF_DTYPE_FP16();
                case FP32 -> Streamfusion.SF_DTYPE_FP32();
            };
        }
    }

    /** A strided {@code [batch, rows, heads, D]} view of device memory (strides in elements). */
    public record View(MemorySegment ptr, long batch, long rows, long heads, long strideBatch, long strideRow,
            long strideHead) {
    }

    /** One Q chunk: the query view, its fp32 state (o, m, l) and the output view ({@code null} unless finalising). */
    public record QChunk(View q, View o, View m, View l, View out) {
    }

    /** One (K, V) chunk pair. */
    public record KvChunk(View k, View v) {
    }

    /**
     * Where a launch may run: {@code smCount} SMs (0: the device's; a partition's share where the caller runs
     * in one) and a workspace that lets the launch split the KV range of the tiles that would leave its last
     * waves partly empty ({@link MemorySegment#NULL}: never split). See {@code sf_attention_fused_scheduled}.
     *
     * @param smCount   SMs the launch may occupy, 0 for the device's count
     * @param workspace device memory of at least {@link #workspaceBytes} bytes whose first counter bytes were
     *                  zeroed once, used by one stream only; or NULL
     */
    public record Schedule(int smCount, MemorySegment workspace) {
        /** The device's SMs, no split. */
        public static final Schedule UNSPLIT = new Schedule(0, MemorySegment.NULL);

        public Schedule {
            if (smCount < 0) {
                throw new InvalidArgumentException("smCount = " + smCount + " must be >= 0 (0: the device's)");
            }
            Objects.requireNonNull(workspace, "workspace (MemorySegment.NULL for none)");
        }
    }

    /**
     * {@code sf_attention_workspace_bytes}: the workspace that lets any launch of {@code headDim} on
     * {@code smCount} SMs split.
     *
     * @param headDim 64 or 128
     * @param smCount SMs, 0 for the current device's
     * @return the bytes; its first {@link #splitCounterBytes} must be zero before the first launch
     */
    public static long workspaceBytes(int headDim, int smCount) {
        long bytes = Streamfusion.sf_attention_workspace_bytes(headDim, smCount);
        if (bytes <= 0) {
            throw new InvalidArgumentException("no workspace size for head dim " + headDim + " on " + smCount
                    + " SMs (head dim 64 or 128, SMs >= 0)");
        }
        return bytes;
    }

    /**
     * @param smCount SMs of the launch
     * @return the leading counter bytes of a workspace, zeroed once before first use
     */
    public static long splitCounterBytes(int smCount) {
        return ((smCount * 16L) + 255) / 256 * 256;
    }

    /**
     * The split of {@code sf_attention_split_plan}: {@code unsplitTiles} whole tiles first, then
     * {@code splitTiles} tiles in {@code pieces} KV pieces each.
     *
     * @param unsplitTiles whole tiles
     * @param splitTiles   split tiles
     * @param pieces       pieces per split tile, 1 when nothing is split
     */
    public record SplitPlan(long unsplitTiles, int splitTiles, int pieces) {
    }

    /**
     * {@code sf_attention_split_plan}: the split a launch of {@code workTiles} (128-row Q tiles times batch
     * times heads) over {@code kvTiles} 128-row KV tiles would take on {@code smCount} SMs (host only).
     *
     * @param workTiles      Q tiles times batch times heads
     * @param kvTiles        KV tiles of every Q tile
     * @param smCount        SMs, at least 1
     * @param headDim        64 or 128
     * @param workspaceBytes the workspace size
     * @return the plan
     */
    public static SplitPlan splitPlan(long workTiles, int kvTiles, int smCount, int headDim, long workspaceBytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment unsplit = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment split = arena.allocate(ValueLayout.JAVA_INT);
            MemorySegment pieces = arena.allocate(ValueLayout.JAVA_INT);
            StreamfusionLibrary.check("sf_attention_split_plan", Streamfusion.sf_attention_split_plan(workTiles, kvTiles,
                    smCount, headDim, workspaceBytes, unsplit, split, pieces));
            return new SplitPlan(unsplit.get(ValueLayout.JAVA_LONG, 0),
                    split.get(ValueLayout.JAVA_INT, 0),
                    pieces.get(ValueLayout.JAVA_INT, 0));
        }
    }

    private static final int MAX_Q = 32;
    private static final int MAX_KV = 32;

    private SfKernels() {
    }

    static {
        StreamfusionLibrary.load();
    }

    /**
     * {@code sf_attention_fused}. Lists longer than the ABI's per-launch maximum (32) are split: Q chunks
     * into independent launches, KV chunks into consecutive launches that carry the state, with
     * {@code init} on the first and {@code finalize} on the last.
     */
    public static void attention(List<QChunk> q, List<KvChunk> kv, int headDim, ElementType type, float scale,
            boolean init, boolean finalize, CudaStream stream) {
        attention(q, kv, headDim, type, scale, init, finalize, Schedule.UNSPLIT, stream);
    }

    /**
     * {@code sf_attention_fused_scheduled}, with lists split as {@link #attention(List, List, int, ElementType,
     * float, boolean, boolean, CudaStream)} says; every launch uses {@code schedule}.
     */
    public static void attention(List<QChunk> q, List<KvChunk> kv, int headDim, ElementType type, float scale,
            boolean init, boolean finalize, Schedule schedule, CudaStream stream) {
        if (q.isEmpty() || kv.isEmpty()) {
            throw new InvalidArgumentException("sf_attention_fused needs at least one Q and one KV chunk (got " + q.size()
                    + ", " + kv.size() + ")");
        }
        for (int qs = 0; qs < q.size(); qs += MAX_Q) {
            List<QChunk> qPart = q.subList(qs, Math.min(q.size(), qs + MAX_Q));
            for (int ks = 0; ks < kv.size(); ks += MAX_KV) {
                List<KvChunk> kvPart = kv.subList(ks, Math.min(kv.size(), ks + MAX_KV));
                boolean first = ks == 0;
                boolean last = ks + MAX_KV >= kv.size();
                int flags = (init && first ? Streamfusion.SF_INIT() : 0) | (finalize && last ? Streamfusion.SF_FINALIZE() : 0);
                launch(qPart, kvPart, headDim, type, scale, flags, schedule, stream);
            }
        }
    }

    private static void launch(List<QChunk> q, List<KvChunk> kv, int headDim, ElementType type, float scale, int flags,
            Schedule schedule, CudaStream stream) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment qs = sf_q_chunk.allocateArray(q.size(), arena);
            for (int i = 0; i < q.size(); i++) {
                MemorySegment c = sf_q_chunk.asSlice(qs, i);
                QChunk x = q.get(i);
                fill(sf_q_chunk.q(c), x.q());
                MemorySegment st = sf_q_chunk.state(c);
                fill(sf_state.o(st), x.o());
                fill(sf_state.m(st), x.m());
                fill(sf_state.l(st), x.l());
                fill(sf_q_chunk.out(c), x.out());
                fill(sf_q_chunk.lse(c), null);
            }
            MemorySegment kvs = sf_kv_chunk.allocateArray(kv.size(), arena);
            for (int i = 0; i < kv.size(); i++) {
                MemorySegment c = sf_kv_chunk.asSlice(kvs, i);
                fill(sf_kv_chunk.k(c), kv.get(i).k());
                fill(sf_kv_chunk.v(c), kv.get(i).v());
            }
            MemorySegment sched = sf_schedule.allocate(arena);
            sf_schedule.sm_count(sched, schedule.smCount());
            sf_schedule.workspace(sched, schedule.workspace());
            sf_schedule.workspace_bytes(sched, schedule.workspace().equals(MemorySegment.NULL) ? 0
                    : schedule.workspace().byteSize());
            StreamfusionLibrary.check("sf_attention_fused_scheduled", Streamfusion.sf_attention_fused_scheduled(qs,
                    q.size(), kvs, kv.size(), headDim, type.code(), scale, flags, sched, stream.handle()));
        }
    }

    /**
     * {@code sf_state_finalize}: {@code out = o/l} of one Q chunk's fp32 state ({@code o}, {@code m}, {@code l}
     * views as in {@link QChunk}), rows with {@code l == 0} giving 0.
     */
    public static void finalizeState(QChunk c, int headDim, ElementType outType, CudaStream stream) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = sf_state.allocate(arena);
            fill(sf_state.o(st), c.o());
            fill(sf_state.m(st), c.m());
            fill(sf_state.l(st), c.l());
            MemorySegment out = sf_view.allocate(arena);
            fill(out, c.out());
            StreamfusionLibrary.check("sf_state_finalize", Streamfusion.sf_state_finalize(st, out, outType.code(),
                    MemorySegment.NULL, c.q().batch(), c.q().rows(), c.q().heads(), headDim, stream.handle()));
        }
    }

    /** {@code sf_copy_strided}: {@code dst[b, s, h, :] = src[b, s, h, :]} (head-slice pack and unpack). */
    public static void copy(View src, View dst, int headDim, ElementType type, CudaStream stream) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = sf_view.allocate(arena);
            MemorySegment d = sf_view.allocate(arena);
            fill(s, src);
            fill(d, dst);
            StreamfusionLibrary.check("sf_copy_strided", Streamfusion.sf_copy_strided(s, d, headDim, type.code(),
                    stream.handle()));
        }
    }

    /** One byte range for {@link #copySegments}: {@code dst} and {@code src} may be NVLink peer addresses. */
    public record CopySegment(MemorySegment dst, MemorySegment src) {
        public CopySegment {
            if (dst.byteSize() != src.byteSize()) {
                throw new InvalidArgumentException("copy segment sizes differ: dst " + dst.byteSize() + " bytes, src "
                        + src.byteSize() + " bytes");
            }
        }
    }

    /** The C ABI's {@code SF_MAX_COPY_SEGMENTS}: longer lists go in several launches. */
    public static final int MAX_COPY_SEGMENTS = Streamfusion.SF_MAX_COPY_SEGMENTS();

    /**
     * {@code sf_copy_segments}: every segment copied by one kernel (per {@link #MAX_COPY_SEGMENTS}), each
     * segment with its own blocks, so copies to different peers proceed together. {@code blocksPerSegment}
     * {@code <= 0} lets the library choose.
     */
    public static void copySegments(List<CopySegment> segments, int blocksPerSegment, CudaStream stream) {
        for (int from = 0; from < segments.size(); from += MAX_COPY_SEGMENTS) {
            List<CopySegment> part = segments.subList(from, Math.min(segments.size(), from + MAX_COPY_SEGMENTS));
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment table = sf_copy_segment.allocateArray(part.size(), arena);
                for (int i = 0; i < part.size(); i++) {
                    MemorySegment e = sf_copy_segment.asSlice(table, i);
                    sf_copy_segment.dst(e, part.get(i).dst());
                    sf_copy_segment.src(e, part.get(i).src());
                    sf_copy_segment.bytes(e, part.get(i).dst().byteSize());
                }
                StreamfusionLibrary.check("sf_copy_segments", Streamfusion.sf_copy_segments(table, part.size(),
                        blocksPerSegment, stream.handle()));
            }
        }
    }

    /**
     * {@code sf_fp8_quantize}: {@code n} elements of {@code src} to the e4m3 wire format (one fp32 scale per
     * {@code block} elements) in {@code wire}.
     */
    public static void fp8Quantize(MemorySegment src, ElementType type, MemorySegment wire, long n, int block,
            CudaStream stream) {
        StreamfusionLibrary.check("sf_fp8_quantize", Streamfusion.sf_fp8_quantize(src, type.code(), wire, n, block,
                stream.handle()));
    }

    /** {@code sf_fp8_dequantize}: the reverse of {@link #fp8Quantize}. */
    public static void fp8Dequantize(MemorySegment wire, MemorySegment dst, ElementType type, long n, int block,
            CudaStream stream) {
        StreamfusionLibrary.check("sf_fp8_dequantize", Streamfusion.sf_fp8_dequantize(wire, dst, type.code(), n, block,
                stream.handle()));
    }

    /**
     * {@code sf_fp8_quantize_centred}: {@code n} elements of {@code src} in rows of {@code row} to the centred
     * e4m3 wire, adding the blocks sent in bf16 and those over the limit to the two int64 of {@code counts}.
     */
    public static void fp8QuantizeCentred(MemorySegment src, ElementType type, MemorySegment wire, long n, int block,
            int row, double softmaxScale, MemorySegment counts, CudaStream stream) {
        StreamfusionLibrary.check("sf_fp8_quantize_centred", Streamfusion.sf_fp8_quantize_centred(src, type.code(), wire,
                n, block, row, softmaxScale, counts, stream.handle()));
    }

    /** {@code sf_fp8_dequantize_centred}: the reverse of {@link #fp8QuantizeCentred}. */
    public static void fp8DequantizeCentred(MemorySegment wire, MemorySegment dst, ElementType type, long n, int block,
            int row, CudaStream stream) {
        StreamfusionLibrary.check("sf_fp8_dequantize_centred", Streamfusion.sf_fp8_dequantize_centred(wire, dst,
                type.code(), n, block, row, stream.handle()));
    }

    /** Writes a view into an {@code sf_view}; {@code null} gives the all-zero (absent) view. */
    private static void fill(MemorySegment struct, View v) {
        if (v == null) {
            struct.fill((byte) 0);
            return;
        }
        sf_view.ptr(struct, v.ptr());
        sf_view.batch(struct, v.batch());
        sf_view.rows(struct, v.rows());
        sf_view.heads(struct, v.heads());
        sf_view.stride_batch(struct, v.strideBatch());
        sf_view.stride_row(struct, v.strideRow());
        sf_view.stride_head(struct, v.strideHead());
    }
}
