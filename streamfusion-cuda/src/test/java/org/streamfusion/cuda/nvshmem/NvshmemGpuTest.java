package org.streamfusion.cuda.nvshmem;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.cuda.DeviceMemory;
import org.streamfusion.cuda.sf.SfKernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** One PE on one GPU, through the exported unique-id init path (no MPI, no nvshmrun). */
@Tag("gpu")
class NvshmemGpuTest {

    @Test
    void singlePeInitPutsGetsSignalsSplitsAndFinalizes() {
        CudaRuntime.requireAvailable();
        System.out.printf("NVSHMEM %s from %s%n", NvshmemRuntime.version(), NvshmemRuntime.library().path());
        byte[] id = NvshmemRuntime.uniqueId(0);
        int n = 1 << 16;
        try (NvshmemRuntime shmem = NvshmemRuntime.init(0, 0, 1, id);
             Arena arena = Arena.ofConfined();
             CudaStream stream = CudaStream.create()) {
            assertEquals(0, shmem.myPe());
            assertEquals(1, shmem.nPes());
            try (SymmetricMemory sym = shmem.allocate(3L * n);
                 SymmetricMemory signals = shmem.allocate(64);
                 DeviceMemory src = DeviceMemory.allocate(n);
                 DeviceMemory dst = DeviceMemory.allocate(n)) {
                MemorySegment host = arena.allocate(JAVA_INT, n / 4);
                for (int i = 0; i < n / 4; i++) {
                    host.setAtIndex(JAVA_INT, i, 0x5F000000 | i);
                }
                src.copyFrom(host);
                DeviceMemory.fill(signals.segment(), (byte) 0, stream);

                sym.put(n, src.segment(), 0, stream);                 // ScatterPush to self, upper half
                shmem.quiet(stream);
                shmem.barrierAll(stream);
                sym.get(dst.segment(), n, 0, stream);                 // GatherPull it back
                sym.putWithSignal(0, dst.segment(), signals, 8, 1, SymmetricMemory.SignalOp.SET, 0, stream);
                signals.waitSignal(8, SymmetricMemory.Compare.EQ, 1, stream);
                stream.synchronize();

                MemorySegment back = arena.allocate(n);
                CudaRuntime.copy(back, sym.slice(0, n));
                assertEquals(-1L, back.mismatch(host));

                // The SM-kernel mover: a store kernel through nvshmem_ptr's mapping of this PE's block.
                MemorySegment mapped = sym.peer(2L * n, n, 0).orElseThrow();
                assertEquals(sym.segment().address() + 2L * n, mapped.address(), "a PE's own block maps to itself");
                SfKernels.copySegments(List.of(new SfKernels.CopySegment(mapped, src.segment())), 0, stream);
                stream.synchronize();
                MemorySegment viaKernel = arena.allocate(n);
                CudaRuntime.copy(viaKernel, sym.slice(2L * n, n));
                assertEquals(-1L, viaKernel.mismatch(host));

                NvshmemTeam world = shmem.world();
                assertEquals(1, world.nPes());
                try (NvshmemTeam sub = world.splitStrided(0, 1, 1).orElseThrow()) {
                    assertEquals(0, sub.myPe());
                    assertEquals(1, sub.nPes());
                    sub.barrier(stream);
                    stream.synchronize();
                }
            }
        }
    }
}
