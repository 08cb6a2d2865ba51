package org.streamfusion.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.DeviceMesh;
import org.streamfusion.DistributedAttention;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.WrongBackendException;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.cpu.CpuWorld;

/**
 * An object of one backend handed to the other is refused with a {@link WrongBackendException} naming
 * the argument and the type expected, before anything is enqueued; no GPU is needed to see it, since the
 * check comes before any native call.
 */
class WrongBackendTest {
    private static final Topology ONE = Topology.of(1, 1);

    @Test
    void aCpuBufferGivenToTheCudaKernelsNamesTheCudaBufferExpected() {
        try (CpuWorld world = CpuWorld.create(ONE)) {
            world.run(dev -> {
                try (DeviceArena arena = dev.newArena()) {
                    TensorView cpu = TensorView.contiguous(arena.allocate(64, DType.F32), 1, 4, 1, 16);
                    Stream stream = arena.createStream("s");
                    WrongBackendException e = assertThrows(WrongBackendException.class,
                            () -> new CudaKernels().copy(cpu, cpu, stream));
                    assertEquals(GpuBuffer.class, e.expected());
                    assertTrue(e.getMessage().contains("org.streamfusion.cpu.CpuBuffer")
                            && e.getMessage().contains("needs a GpuBuffer"), e.getMessage());
                    return null;
                }
            });
        }
    }

    @Test
    void aCpuStreamGivenToTheGpuTimerNamesTheCudaStreamExpected() {
        try (CpuWorld world = CpuWorld.create(ONE)) {
            world.run(dev -> {
                try (DeviceArena arena = dev.newArena()) {
                    Stream cpu = arena.createStream("s");
                    WrongBackendException e = assertThrows(WrongBackendException.class, () -> HostTransfer.time(cpu, () -> { }));
                    assertTrue(e.getMessage().startsWith("stream is a org.streamfusion.cpu.CpuStream")
                            && e.getMessage().contains("needs a GpuStream"), e.getMessage());
                    return null;
                }
            });
        }
    }

    @Test
    void aCudaBufferGivenToTheCpuBackendFailsTheLayerNamingTheCpuBufferExpected() {
        Plan plan = Plan.of(AttentionShape.of(1, 4, 1, 16), DeviceMesh.of(ONE, Method.ULYSSES, 1, 1, 1));
        try (Arena host = Arena.ofConfined(); CpuWorld world = CpuWorld.create(ONE)) {
            // Host memory posing as device memory: the CPU backend must refuse it before touching it.
            Buffer foreign = new GpuBuffer(host.allocate(64 * 4), DType.F32, null, 0);
            TensorView q = TensorView.contiguous(foreign, 1, 4, 1, 16);
            WrongBackendException e = assertThrows(WrongBackendException.class, () -> world.run(dev -> {
                try (DeviceArena io = dev.newArena(); DistributedAttention attn = DistributedAttention.create(plan, dev)) {
                    TensorView o = TensorView.contiguous(io.allocate(64, DType.F32), 1, 4, 1, 16);
                    attn.forward(q, q, q, o);
                    return null;
                }
            }));
            assertTrue(e.getMessage().contains("org.streamfusion.gpu.GpuBuffer")
                    && e.getMessage().contains("needs a CpuBuffer"), e.getMessage());
        }
    }
}
