package org.streamfusion.gpu;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.Topology;
import org.streamfusion.backend.TensorView;
import org.streamfusion.bindings.dlpack.DLDataType;
import org.streamfusion.bindings.dlpack.DLDevice;
import org.streamfusion.bindings.dlpack.DLManagedTensor;
import org.streamfusion.bindings.dlpack.DLTensor;
import org.streamfusion.bindings.dlpack.Dlpack;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cuda.ManagedTensor;
import org.streamfusion.spi.BackendBuffer;

/**
 * DLPack on CPU memory (no GPU needed): a tensor another framework made goes in without a copy, out again and back
 * in with every bit and stride intact, and each side's deleter runs exactly once however often it is asked to;
 * tensors the rules refuse name the rule and stay with their producer.
 */
class DLPackTest {
    private static final int B = 2;
    private static final int S = 5;
    private static final int H = 3;
    private static final int D = 8;

    /** A producer's tensor, as PyTorch or NumPy would hand it over: its own memory and a counting deleter. */
    private record Produced(MemorySegment managed, MemorySegment data, AtomicInteger deletes) {
    }

    private static Produced produce(Arena arena, int code, int bits, int deviceType, long[] shape, long[] strides,
            long byteOffset, MemorySegment data) {
        AtomicInteger deletes = new AtomicInteger();
        MemorySegment self = DLManagedTensor.allocate(arena);
        MemorySegment t = DLManagedTensor.dl_tensor(self);
        DLTensor.data(t, data);
        DLDevice.device_type(DLTensor.device(t), deviceType);
        DLDevice.device_id(DLTensor.device(t), 0);
        DLTensor.ndim(t, shape.length);
        DLDataType.code(DLTensor.dtype(t), (byte) code);
        DLDataType.bits(DLTensor.dtype(t), (byte) bits);
        DLDataType.lanes(DLTensor.dtype(t), (short) 1);
        DLTensor.shape(t, arena.allocateFrom(JAVA_LONG, shape));
        DLTensor.strides(t, strides == null ? MemorySegment.NULL : arena.allocateFrom(JAVA_LONG, strides));
        DLTensor.byte_offset(t, byteOffset);
        DLManagedTensor.deleter(self, DLManagedTensor.deleter.allocate(x -> deletes.incrementAndGet(), arena));
        return new Produced(self, data, deletes);
    }

    /** Random floats with adversarial bit patterns mixed in: NaN payloads, -0, denormals, infinities. */
    private static MemorySegment randomFloats(Arena arena, long count, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] special = {0x7FC00001, 0xFF800000, 0x7F800000, 0x80000000, 0x00000001, 0x807FFFFF};
        MemorySegment m = arena.allocate(count * Float.BYTES, 64);
        for (long i = 0; i < count; i++) {
            int bits = rnd.nextInt(10) == 0 ? special[rnd.nextInt(special.length)]
                    : Float.floatToRawIntBits((float) rnd.nextGaussian());
            m.setAtIndex(JAVA_INT, i, bits);
        }
        return m;
    }

    /** The element {@code [b, s, h, d]} of a view, by its strides from its memory. */
    private static int bitsAt(TensorView v, int b, int s, int h, int d) {
        MemorySegment m = ((BackendBuffer) v.base()).memory().orElseThrow();
        long index = b * v.batchStride() + s * v.rowStride() + h * v.headStride() + d;
        return m.reinterpret(Long.MAX_VALUE).getAtIndex(JAVA_INT, index);
    }

    private static List<String> differences(TensorView got, MemorySegment data, long baseElement, long[] strides) {
        List<String> out = new ArrayList<>();
        for (int b = 0; b < B; b++) {
            for (int s = 0; s < S; s++) {
                for (int h = 0; h < H; h++) {
                    for (int d = 0; d < D; d++) {
                        int want = data.getAtIndex(JAVA_INT,
                                baseElement + b * strides[0] + s * strides[1] + h * strides[2] + d);
                        int have = bitsAt(got, b, s, h, d);
                        if (want != have && out.size() < 5) {
                            out.add("[" + b + "," + s + "," + h + "," + d + "]: 0x" + Integer.toHexString(have)
                                    + " instead of 0x" + Integer.toHexString(want));
                        }
                    }
                }
            }
        }
        return out;
    }

    @Test
    void aFusedQkvTensorGoesInAndOutAndBackBitExactAndEachDeleterRunsOnce() {
        // K of a fused [B, S, 3, H, D] tensor: strides (S*3*H*D, 3*H*D, D, 1), H*D elements in.
        long[] strides = {(long) S * 3 * H * D, 3L * H * D, D, 1};
        long offsetElements = (long) H * D;
        try (Arena arena = Arena.ofShared(); CpuWorld world = CpuWorld.create(Topology.of(1, 1))) {
            MemorySegment data = randomFloats(arena, (long) B * S * 3 * H * D, 24);
            Produced k = produce(arena, Dlpack.kDLFloat(), 32, Dlpack.kDLCPU(), new long[] {B, S, H, D}, strides,
                    offsetElements * Float.BYTES, data);
            AtomicInteger exportDeletes = new AtomicInteger();
            world.run(rank -> {
                DLPackTensor in = DLPack.wrap(rank, k.managed());
                TensorView view = in.view();
                assertEquals(List.of(), differences(view, data, offsetElements, strides), "wrapped view");
                assertEquals(strides[1], view.rowStride(), "row stride kept");

                int before = ManagedTensor.liveExports();
                MemorySegment out = DLPack.export(rank, view, exportDeletes::incrementAndGet);
                assertEquals(before + 1, ManagedTensor.liveExports(), "one export alive");
                try (DLPackTensor back = DLPack.wrap(rank, out)) {
                    assertEquals(List.of(), differences(back.view(), data, offsetElements, strides), "round trip");
                    assertEquals(data.address() + offsetElements * Float.BYTES,
                            ((BackendBuffer) back.view().base()).memory().orElseThrow().address(),
                            "no copy: the round trip views the producer's memory");
                }
                back(out); // a consumer calling the deleter again: nothing more happens
                assertEquals(1, exportDeletes.get(), "the export's onDelete ran once");
                assertEquals(before, ManagedTensor.liveExports(), "the export's struct is freed");

                assertEquals(0, k.deletes().get(), "the producer's tensor is still in use");
                in.close();
                in.close();
                assertEquals(1, k.deletes().get(), "the producer's deleter ran once for two closes");
                return null;
            });
        }
    }

    /** Calls an exported tensor's deleter the way a consumer does. */
    private static void back(MemorySegment managed) {
        MemorySegment self = managed.reinterpret(DLManagedTensor.sizeof());
        DLManagedTensor.deleter.invoke(DLManagedTensor.deleter(self), self);
    }

    @Test
    void theCodesAreDlpackHsOwn() {
        assertEquals(List.of(Dlpack.kDLCPU(), Dlpack.kDLCUDA(), Dlpack.kDLCUDAManaged(), Dlpack.kDLFloat(), Dlpack.kDLBfloat()),
                List.of(ManagedTensor.CPU, ManagedTensor.CUDA, ManagedTensor.CUDA_MANAGED, ManagedTensor.FLOAT,
                        ManagedTensor.BFLOAT));
    }

    @Test
    void compactTensorsWithoutStridesAreRowMajor() {
        try (Arena arena = Arena.ofShared(); CpuWorld world = CpuWorld.create(Topology.of(1, 1))) {
            MemorySegment data = randomFloats(arena, (long) B * S * H * D, 7);
            Produced p = produce(arena, Dlpack.kDLFloat(), 32, Dlpack.kDLCPU(), new long[] {B, S, H, D}, null, 0, data);
            world.run(rank -> {
                try (DLPackTensor in = DLPack.wrap(rank, p.managed())) {
                    long[] packed = {(long) S * H * D, (long) H * D, D, 1};
                    assertEquals(List.of(), differences(in.view(), data, 0, packed), "NULL strides read row-major");
                }
                return null;
            });
            assertEquals(1, p.deletes().get());
        }
    }

    @Test
    void refusedTensorsNameTheRuleAndStayWithTheirProducer() {
        long[] shape = {B, S, H, D};
        long[] packed = {(long) S * H * D, (long) H * D, D, 1};
        record Case(String name, int code, int bits, int device, long[] shape, long[] strides, String rule) {
        }
        List<Case> cases = List.of(
                new Case("fp16 on the CPU backend", Dlpack.kDLFloat(), 16, Dlpack.kDLCPU(), shape, packed, "fp32 kDLCPU"),
                new Case("int32", Dlpack.kDLInt(), 32, Dlpack.kDLCPU(), shape, packed, "float32 (CPU)"),
                new Case("GPU memory on the CPU backend", Dlpack.kDLFloat(), 32, Dlpack.kDLCUDA(), shape, packed,
                        "fp32 kDLCPU"),
                new Case("ndim 3", Dlpack.kDLFloat(), 32, Dlpack.kDLCPU(), new long[] {B, S, H * D},
                        new long[] {(long) S * H * D, (long) H * D, 1}, "ndim 4"),
                new Case("D not contiguous", Dlpack.kDLFloat(), 32, Dlpack.kDLCPU(), shape,
                        new long[] {(long) S * H * D * 2, (long) H * D * 2, D * 2L, 2}, "D is contiguous"),
                new Case("rows sharing memory", Dlpack.kDLFloat(), 32, Dlpack.kDLCPU(), shape,
                        new long[] {(long) H * D, 0, D, 1}, "share memory"),
                new Case("a negative stride", Dlpack.kDLFloat(), 32, Dlpack.kDLCPU(), shape,
                        new long[] {(long) S * H * D, -(long) H * D, D, 1}, "strides non-negative"));
        try (Arena arena = Arena.ofShared(); CpuWorld world = CpuWorld.create(Topology.of(1, 1))) {
            MemorySegment data = randomFloats(arena, 4L * B * S * H * D, 3);
            world.run(rank -> {
                for (Case c : cases) {
                    Produced p = produce(arena, c.code(), c.bits(), c.device(), c.shape(), c.strides(), 0, data);
                    var e = assertThrows(InvalidConfigurationException.class, () -> DLPack.wrap(rank, p.managed()),
                            c.name());
                    assertTrue(e.getMessage().contains(c.rule()), c.name() + ": " + e.getMessage());
                    assertEquals(0, p.deletes().get(), c.name() + ": a refused tensor stays with its producer");
                }
                assertThrows(InvalidConfigurationException.class, () -> DLPack.wrap(rank, MemorySegment.NULL));
                return null;
            });
        }
    }
}
