package org.streamfusion.gpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.WrongBackendException;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.cuda.sf.SfKernels;
import org.streamfusion.spi.AttentionState;
import org.streamfusion.spi.Fp8Layout;
import org.streamfusion.spi.Kernels;
import org.streamfusion.spi.KvChunk;
import org.streamfusion.spi.QChunk;

/** The schedules' kernels, launched from libstreamfusion (csrc/). */
final class CudaKernels implements Kernels {
    @Override
    public void checkSupported(AttentionShape shape) {
        if (shape.headDim() != 64 && shape.headDim() != 128) {
            throw new InvalidConfigurationException("head dim D=" + shape.headDim()
                    + " is not supported by the CUDA kernels", "D is 64 or 128 on the GPU");
        }
        if (shape.dtype() == DType.F32) {
            throw new InvalidConfigurationException("dtype F32 is not supported by the CUDA attention kernel",
                    "Q, K, V are BF16 or F16 on the GPU");
        }
    }

    @Override
    public void attention(List<QChunk> q, List<KvChunk> kv, double scale, boolean init, boolean finalize, Stream stream) {
        List<SfKernels.QChunk> qs = new ArrayList<>(q.size());
        for (QChunk c : q) {
            AttentionState st = c.state();
            qs.add(new SfKernels.QChunk(view(c.q(), "q of a Q chunk"), view(st.o(), "o of a Q chunk's state"),
                    scalars(st.m(), c.q(), "m of a Q chunk's state"), scalars(st.l(), c.q(), "l of a Q chunk's state"),
                    c.out() == null ? null : view(c.out(), "out of a Q chunk")));
        }
        List<SfKernels.KvChunk> kvs = new ArrayList<>(kv.size());
        for (KvChunk c : kv) {
            kvs.add(new SfKernels.KvChunk(view(c.k(), "k of a KV chunk"), view(c.v(), "v of a KV chunk")));
        }
        TensorView first = q.get(0).q();
        GpuStream s = WrongBackendException.require(GpuStream.class, stream, "stream of attention");
        SfKernels.attention(qs, kvs, first.dim(), type(first.base().dtype()), (float) scale, init, finalize,
                s.attentionSchedule(), s.cuda());
        s.enqueued("attention");
    }

    @Override
    public void finalizeState(QChunk c, Stream stream) {
        if (c.out() == null) {
            throw new InvalidArgumentException("finalising a Q chunk without an output view");
        }
        AttentionState st = c.state();
        SfKernels.QChunk chunk = new SfKernels.QChunk(view(c.q(), "q of a Q chunk"), view(st.o(), "o of a Q chunk's state"),
                scalars(st.m(), c.q(), "m of a Q chunk's state"), scalars(st.l(), c.q(), "l of a Q chunk's state"),
                view(c.out(), "out of a Q chunk"));
        GpuStream s = WrongBackendException.require(GpuStream.class, stream, "stream of finalize");
        SfKernels.finalizeState(chunk, c.q().dim(), type(c.out().base().dtype()), s.cuda());
        s.enqueued("finalize");
    }

    @Override
    public void copy(TensorView src, TensorView dst, Stream stream) {
        if (!src.sameShape(dst) || src.base().dtype() != dst.base().dtype()) {
            throw new InvalidArgumentException("copy from " + src.shapeString() + " " + src.base().dtype() + " to "
                    + dst.shapeString() + " " + dst.base().dtype());
        }
        SfKernels.copy(view(src, "src of copy"), view(dst, "dst of copy"), src.dim(), type(src.base().dtype()),
                WrongBackendException.require(GpuStream.class, stream, "stream of copy").cuda());
    }

    @Override
    public void quantizeFp8(Buffer src, Buffer wire, Fp8Layout layout, Buffer counts, Stream stream) {
        GpuBuffer s = cudaBuffer(src, "src of fp8 quantize");
        GpuBuffer w = cudaBuffer(wire, "wire of fp8 quantize");
        GpuBuffer c = cudaBuffer(counts, "counters of fp8 quantize");
        layout.checkPair(s, w);
        Fp8Layout.checkCounts(c);
        GpuStream h = WrongBackendException.require(GpuStream.class, stream, "stream of fp8 quantize");
        SfKernels.fp8QuantizeCentred(s.segment(), type(s.dtype()), w.segment(), layout.elements(), layout.block(),
                layout.rowElements(), layout.softmaxScale(), c.segment(), h.cuda());
        h.enqueued("fp8 quantize");
    }

    @Override
    public void dequantizeFp8(Buffer wire, Buffer dst, Fp8Layout layout, Stream stream) {
        GpuBuffer w = cudaBuffer(wire, "wire of fp8 dequantize");
        GpuBuffer d = cudaBuffer(dst, "dst of fp8 dequantize");
        layout.checkPair(d, w);
        GpuStream h = WrongBackendException.require(GpuStream.class, stream, "stream of fp8 dequantize");
        SfKernels.fp8DequantizeCentred(w.segment(), d.segment(), type(d.dtype()), layout.elements(), layout.block(),
                layout.rowElements(), h.cuda());
        h.enqueued("fp8 dequantize");
    }

    /** A synchronous copy to the host: the caller has synchronized the streams that add to the counters. */
    @Override
    public long[] readFp8Counts(Buffer counts) {
        GpuBuffer c = cudaBuffer(counts, "counters of fp8");
        Fp8Layout.checkCounts(c);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(16, 8);
            CudaRuntime.copy(host, c.segment().asSlice(0, 16));
            return host.toArray(ValueLayout.JAVA_LONG);
        }
    }

    private static SfKernels.View view(TensorView v, String argument) {
        return new SfKernels.View(cudaBuffer(v.base(), argument).segment(), v.batch(), v.rows(), v.heads(),
                v.batchStride(), v.rowStride(), v.headStride());
    }

    /** m or l of a state: fp32 {@code [B, rows, heads]}, packed. */
    private static SfKernels.View scalars(Buffer b, TensorView q, String argument) {
        return new SfKernels.View(cudaBuffer(b, argument).segment(), q.batch(), q.rows(), q.heads(),
                (long) q.rows() * q.heads(), q.heads(), 1);
    }

    private static GpuBuffer cudaBuffer(Buffer b, String argument) {
        return WrongBackendException.require(GpuBuffer.class, b, argument);
    }

    static SfKernels.ElementType type(DType t) {
        return switch (t) {
            case BF16 -> SfKernels.ElementType.BF16;
            case F16 -> SfKernels.ElementType.FP16;
            case F32 -> SfKernels.ElementType.FP32;
            case F64 -> throw new InvalidConfigurationException("dtype F64 on the GPU",
                    "GPU buffers are BF16, F16 or F32");
        };
    }
}
