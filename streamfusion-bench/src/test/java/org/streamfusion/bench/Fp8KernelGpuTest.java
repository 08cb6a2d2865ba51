package org.streamfusion.bench;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.streamfusion.cuda.CudaEvent;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.cuda.DeviceMemory;
import org.streamfusion.cuda.sf.SfKernels;
import org.streamfusion.spi.Fp8Wire;

/**
 * The csrc e4m3 kernels (sf_fp8_quantize, sf_fp8_dequantize) equal the Java codec that the CPU path uses,
 * byte for byte on the wire and bit for bit after dequantizing, on bf16 and fp16 tensors with adversarial
 * blocks (zeros, one huge value, denormals, NaN, infinities); and their throughput on one GPU.
 */
@Tag("gpu")
class Fp8KernelGpuTest {
    @BeforeAll
    static void device() {
        CudaRuntime.requireAvailable();
        CudaRuntime.setDevice(0);
    }

    @ParameterizedTest(name = "{0}, D={1}, {2} blocks")
    @CsvSource({"BF16, 128, 4099", "BF16, 64, 777", "FP16, 128, 1000", "FP16, 64, 4096", "BF16, 96, 501", "FP16, 40, 77"})
    void deviceWireAndDequantizedValuesEqualTheJavaCodec(SfKernels.ElementType type, int block, int blocks) {
        long n = (long) block * blocks;
        long wireBytes = Fp8Wire.bytes(n, block);
        long seed = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(seed);
        try (Arena arena = Arena.ofConfined();
                DeviceMemory src = DeviceMemory.allocate(2 * n);
                DeviceMemory wire = DeviceMemory.allocate(wireBytes);
                DeviceMemory dst = DeviceMemory.allocate(2 * n);
                CudaStream stream = CudaStream.create()) {
            MemorySegment host = arena.allocate(2 * n, 16);
            float[] values = new float[(int) n];
            for (int b = 0; b < blocks; b++) {
                for (int i = 0; i < block; i++) {
                    float x = adversarial(rnd, b % 7, i);
                    short bits = type == SfKernels.ElementType.BF16 ? bf16(x) : Float.floatToFloat16(x);
                    host.setAtIndex(JAVA_SHORT, (long) b * block + i, bits);
                    values[b * block + i] = type == SfKernels.ElementType.BF16 ? Float.intBitsToFloat(bits << 16)
                            : Float.float16ToFloat(bits);
                }
            }
            src.copyFrom(host);
            SfKernels.fp8Quantize(src.segment(), type, wire.segment(), n, block, stream);
            SfKernels.fp8Dequantize(wire.segment(), dst.segment(), type, n, block, stream);
            stream.synchronize();
            MemorySegment w = arena.allocate(wireBytes, 16);
            wire.copyTo(w);
            MemorySegment back = arena.allocate(2 * n, 16);
            dst.copyTo(back);
            for (int b = 0; b < blocks; b++) {
                float amax = 0f;
                for (int i = 0; i < block; i++) {
                    float x = values[b * block + i];
                    if (Float.isFinite(x)) {
                        amax = Math.max(amax, Math.abs(x));
                    }
                }
                float scale = Fp8Wire.scale(amax);
                String where = type + " D=" + block + " block " + b + " (pattern " + b % 7 + ", seed " + seed + ")";
                assertEquals(scale, w.get(JAVA_FLOAT, Fp8Wire.scalesOffset(n) + 4L * b), where + ": scale");
                for (int i = 0; i < block; i++) {
                    long at = (long) b * block + i;
                    byte expected = Fp8Wire.encode(values[b * block + i] / scale);
                    assertEquals(expected, w.get(JAVA_BYTE, at), where + " element " + i + " (" + values[b * block + i]
                            + "): e4m3 byte");
                    float decoded = Fp8Wire.decode(expected) * scale;
                    short want = type == SfKernels.ElementType.BF16 ? bf16(decoded) : Float.floatToFloat16(decoded);
                    short got = back.getAtIndex(JAVA_SHORT, at);
                    assertTrue(want == got || Float.isNaN(decoded), where + " element " + i + ": dequantized "
                            + Integer.toHexString(got & 0xFFFF) + ", expected " + Integer.toHexString(want & 0xFFFF));
                }
            }
        }
    }

    // D=96 and 40 are not 8 * 2^k: they take the generic kernels.
    /** Block patterns: 0-2 Gaussian of scale 1, 1e-3, 1e3; 3 all zero; 4 one huge value; 5 denormal-small; 6 NaN/inf. */
    private static float adversarial(SplittableRandom rnd, int pattern, int i) {
        double g = rnd.nextGaussian();
        return switch (pattern) {
            case 0 -> (float) g;
            case 1 -> (float) (g * 1e-3);
            case 2 -> (float) (g * 1e3);
            case 3 -> 0f;
            case 4 -> i == 5 ? 3e4f : (float) g;
            case 5 -> (float) (g * 1e-38);
            default -> i == 1 ? Float.NaN : i == 2 ? Float.POSITIVE_INFINITY : i == 3 ? Float.NEGATIVE_INFINITY : (float) g;
        };
    }

    /** Round to nearest even bf16, as __float2bfloat16_rn does (NaN kept quiet). */
    private static short bf16(float x) {
        int bits = Float.floatToRawIntBits(x);
        if (Float.isNaN(x)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    @ParameterizedTest(name = "{0} elements in blocks of {1}")
    @CsvSource({"100, 64", "128, 0", "128, 8192"})
    void badSizesAreRefusedWithTheLibrarysMessage(long n, int block) {
        try (DeviceMemory src = DeviceMemory.allocate(4096); DeviceMemory wire = DeviceMemory.allocate(4096);
                CudaStream stream = CudaStream.create()) {
            RuntimeException e = assertThrows(RuntimeException.class, () -> SfKernels.fp8Quantize(src.segment(),
                    SfKernels.ElementType.BF16, wire.segment(), n, block, stream));
            assertTrue(e.getMessage().contains("sf_fp8_quantize") && e.getMessage().contains("block"), e.getMessage());
        }
    }

    @ParameterizedTest(name = "{0} MiB of bf16, D={1}")
    @CsvSource({"256, 128", "256, 64"})
    void quantizeAndDequantizeRunNearMemoryBandwidth(int mib, int block) {
        long n = (long) mib << 19; // bf16 elements
        long wireBytes = Fp8Wire.bytes(n, block);
        try (DeviceMemory src = DeviceMemory.allocate(2 * n); DeviceMemory wire = DeviceMemory.allocate(wireBytes);
                DeviceMemory dst = DeviceMemory.allocate(2 * n); CudaStream stream = CudaStream.create();
                CudaEvent start = CudaEvent.create(); CudaEvent end = CudaEvent.create()) {
            src.fill((byte) 0x3F, stream);
            float[] q = new float[21];
            float[] d = new float[21];
            for (int rep = 0; rep < q.length; rep++) {
                start.record(stream);
                SfKernels.fp8Quantize(src.segment(), SfKernels.ElementType.BF16, wire.segment(), n, block, stream);
                end.record(stream);
                end.synchronize();
                q[rep] = CudaEvent.elapsedMillis(start, end);
                start.record(stream);
                SfKernels.fp8Dequantize(wire.segment(), dst.segment(), SfKernels.ElementType.BF16, n, block, stream);
                end.record(stream);
                end.synchronize();
                d[rep] = CudaEvent.elapsedMillis(start, end);
            }
            java.util.Arrays.sort(q);
            java.util.Arrays.sort(d);
            double bytes = 2.0 * n + wireBytes;
            double qGbs = bytes / (q[10] * 1e-3) / 1e9;
            double dGbs = bytes / (d[10] * 1e-3) / 1e9;
            System.out.printf("fp8 kernels, %d MiB bf16, D=%d: quantize %.3f ms (%.0f GB/s), dequantize %.3f ms (%.0f GB/s),"
                    + " medians of %d%n", mib, block, q[10], qGbs, d[10], dGbs, q.length);
            assertTrue(qGbs > 1500 && dGbs > 2500, "fp8 kernels below 1.5 (quantize) or 2.5 TB/s (dequantize): quantize " + qGbs + ", dequantize " + dGbs);
        }
    }
}
