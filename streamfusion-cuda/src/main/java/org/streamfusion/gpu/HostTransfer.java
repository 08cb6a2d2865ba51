package org.streamfusion.gpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.streamfusion.DType;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.WrongBackendException;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.Stream;
import org.streamfusion.cuda.CudaEvent;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.cuda.DeviceMemory;
import org.streamfusion.spi.Bf16;

/** Host floats in and out of device buffers (converting to the buffer's type), and event timing. */
public final class HostTransfer {
    private HostTransfer() {
    }

    /**
     * Synchronous upload of {@code values}, rounded to the buffer's element type.
     *
     * @param dst    a buffer of the CUDA backend (from a {@link CudaRankDevice} arena), of BF16, F16 or F32
     * @param values one per element of {@code dst}
     * @throws InvalidArgumentException if {@code values.length} is not {@code dst}'s length
     * @throws WrongBackendException if {@code dst} is not a buffer of the CUDA backend
     */
    public static void upload(Buffer dst, float[] values) {
        GpuBuffer d = WrongBackendException.require(GpuBuffer.class, dst, "dst");
        if (values.length != d.length()) {
            throw new InvalidArgumentException(values.length + " values for a buffer of " + d.length());
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(d.segment().byteSize(), 16);
            for (int i = 0; i < values.length; i++) {
                switch (d.dtype()) {
                    case BF16 -> host.setAtIndex(ValueLayout.JAVA_SHORT, i, toBf16(values[i]));
                    case F16 -> host.setAtIndex(ValueLayout.JAVA_SHORT, i, Float.floatToFloat16(values[i]));
                    case F32 -> host.setAtIndex(ValueLayout.JAVA_FLOAT, i, values[i]);
                    case F64 -> throw unsupported(d.dtype());
                }
            }
            CudaRuntime.copy(d.segment(), host);
            // From pageable memory cudaMemcpy may return before the DMA lands; peers and non-blocking
            // streams must see the data.
            CudaRuntime.synchronizeDevice();
        }
    }

    /**
     * Fills a buffer with all-ones bytes (NaN in bf16, fp16 and fp32) and waits: an output nothing wrote fails
     * a check.
     *
     * @param b a buffer of the CUDA backend (from a {@link CudaRankDevice} arena)
     * @throws WrongBackendException if {@code b} is not a buffer of the CUDA backend
     */
    public static void poison(Buffer b) {
        try (CudaStream s = CudaStream.create(true)) {
            GpuBuffer buffer = WrongBackendException.require(GpuBuffer.class, b, "buffer");
            DeviceMemory.fill(buffer.segment(), (byte) 0xFF, s);
            s.synchronize();
        }
    }

    /**
     * Synchronous download, widened to float.
     *
     * @param src a buffer of the CUDA backend (from a {@link CudaRankDevice} arena), of BF16, F16 or F32
     * @return one float per element of {@code src}
     * @throws WrongBackendException if {@code src} is not a buffer of the CUDA backend
     */
    public static float[] download(Buffer src) {
        GpuBuffer s = WrongBackendException.require(GpuBuffer.class, src, "src");
        float[] out = new float[Math.toIntExact(s.length())];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(s.segment().byteSize(), 16);
            CudaRuntime.copy(host, s.segment());
            for (int i = 0; i < out.length; i++) {
                out[i] = switch (s.dtype()) {
                    case BF16 -> fromBf16(host.getAtIndex(ValueLayout.JAVA_SHORT, i));
                    case F16 -> Float.float16ToFloat(host.getAtIndex(ValueLayout.JAVA_SHORT, i));
                    case F32 -> host.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                    case F64 -> throw unsupported(s.dtype());
                };
            }
        }
        return out;
    }

    /**
     * Round to nearest even, as the GPU converts.
     *
     * @param f the value
     * @return its bf16 bits; any NaN becomes the quiet NaN {@code 0x7FC0}
     */
    public static short toBf16(float f) {
        return Bf16.fromFloat(f);
    }

    /**
     * Exact widening of a bf16 value.
     *
     * @param h the bf16 bits
     * @return the value as a float
     */
    public static float fromBf16(short h) {
        return Bf16.toFloat(h);
    }

    /**
     * {@code x} rounded through {@code type} and back, as the device will see it.
     *
     * @param x    the value
     * @param type BF16, F16 or F32
     * @return {@code x} as a value of {@code type}
     * @throws org.streamfusion.InvalidConfigurationException if {@code type} is F64
     */
    public static float round(float x, DType type) {
        return switch (type) {
            case BF16 -> fromBf16(toBf16(x));
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(x));
            case F32 -> x;
            case F64 -> throw unsupported(type);
        };
    }

    private static InvalidConfigurationException unsupported(DType type) {
        return new InvalidConfigurationException("dtype " + type + " on the GPU",
                "GPU buffers are BF16, F16 or F32");
    }

    /**
     * Milliseconds of device time that {@code body} enqueues on {@code stream}, by CUDA events. Waits for
     * the stream.
     *
     * @param stream a stream of a {@link CudaRankDevice}
     * @param body   enqueues the timed work on {@code stream}
     * @return the milliseconds between the events before and after {@code body}
     * @throws WrongBackendException if {@code stream} is not a CUDA stream
     */
    public static float time(Stream stream, Runnable body) {
        GpuStream s = WrongBackendException.require(GpuStream.class, stream, "stream");
        try (CudaEvent start = CudaEvent.create(true); CudaEvent end = CudaEvent.create(true)) {
            start.record(s.cuda());
            body.run();
            end.record(s.cuda());
            s.synchronize("timed region");
            return CudaEvent.elapsedMillis(start, end);
        }
    }
}
