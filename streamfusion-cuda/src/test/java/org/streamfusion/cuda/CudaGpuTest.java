package org.streamfusion.cuda;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.streamfusion.bindings.cudart.Cudart;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Needs a CUDA device: run with -Dgroups=gpu (the GPU bundle does). */
@Tag("gpu")
class CudaGpuTest {

    @BeforeAll
    static void device() {
        CudaRuntime.requireAvailable();
        CudaRuntime.setDevice(0);
        System.out.printf("CUDA runtime %d, driver %d, %d device(s), device 0 sm_%d with %d SMs, libcudart %s%n",
                CudaRuntime.runtimeVersion(), CudaRuntime.driverVersion(), CudaRuntime.deviceCount(),
                CudaRuntime.computeCapability(0), CudaRuntime.multiprocessorCount(0), CudaRuntime.library().path());
    }

    @Test
    void roundTripThroughDeviceMemoryKeepsEveryByteIncludingSlices() {
        int n = 1 << 20;
        try (Arena arena = Arena.ofConfined();
             DeviceMemory a = DeviceMemory.allocate(n);
             DeviceMemory b = DeviceMemory.allocate(n)) {
            MemorySegment host = arena.allocate(n);
            for (int i = 0; i < n / 4; i++) {
                host.setAtIndex(JAVA_INT, i, i * 31 + 7);
            }
            a.copyFrom(host);
            // Swap halves device-to-device through slices: b[0:h) = a[h:n), b[h:n) = a[0:h).
            long h = n / 2;
            CudaRuntime.copy(b.slice(0, h), a.slice(h, h));
            CudaRuntime.copy(b.slice(h, h), a.slice(0, h));
            MemorySegment back = arena.allocate(n);
            b.copyTo(back);
            assertEquals(-1L, back.asSlice(0, h).mismatch(host.asSlice(h, h)));
            assertEquals(-1L, back.asSlice(h, h).mismatch(host.asSlice(0, h)));
        }
    }

    @Test
    void eventOrdersACopyOnAnotherStreamAfterAMemsetAndTimesIt() {
        long n = 256L << 20; // large enough that an unordered copy would observe the old contents
        try (Arena arena = Arena.ofConfined();
             DeviceMemory buf = DeviceMemory.allocate(n);
             CudaStream producer = CudaStream.create();
             CudaStream consumer = CudaStream.create();
             CudaEvent start = CudaEvent.create();
             CudaEvent done = CudaEvent.create()) {
            MemorySegment host = arena.allocate(n);
            buf.fill((byte) 0, producer);
            producer.synchronize();

            start.record(producer);
            for (int i = 0; i < 8; i++) {
                buf.fill((byte) (0x10 + i), producer);
            }
            done.record(producer);
            consumer.waitFor(done);
            CudaRuntime.copyAsync(host, buf.segment(), consumer);
            consumer.synchronize();

            assertTrue(done.isComplete(), "the event the consumer waited on must be complete");
            float ms = CudaEvent.elapsedMillis(start, done);
            System.out.printf("8 x cudaMemsetAsync of %d MiB: %.3f ms (%.1f GB/s)%n", n >> 20, ms, 8.0 * n / ms / 1e6);
            assertTrue(ms > 0 && Float.isFinite(ms), "elapsed " + ms);
            assertEquals(0x17, host.get(JAVA_BYTE, 0));
            assertEquals(0x17, host.get(JAVA_BYTE, n - 1));
            assertEquals(-1L, host.asSlice(0, 4096).mismatch(host.asSlice(n - 4096, 4096)));
        }
    }

    @Test
    void invalidDeviceOrdinalRaisesCudaExceptionWithCudasOwnErrorString() {
        int bad = CudaRuntime.deviceCount() + 7;
        CudaException e = assertThrows(CudaException.class, () -> CudaRuntime.setDevice(bad));
        assertEquals("cudaSetDevice", e.call());
        assertEquals(Cudart.cudaErrorInvalidDevice(), e.code());
        assertEquals(CudaRuntime.errorString(e.code()), e.nativeMessage());
        assertTrue(e.getMessage().contains("invalid device ordinal"), e.getMessage());
        assertEquals(Cudart.cudaSuccess(), CudaRuntime.lastError(), "the failed call must not leave a last error behind");
        assertEquals(0, CudaRuntime.currentDevice());
    }

    @Test
    void oversizedAllocationRaisesOutOfMemory() {
        CudaException e = assertThrows(CudaException.class, () -> DeviceMemory.allocate(1L << 50));
        assertEquals("cudaMalloc", e.call());
        assertEquals(Cudart.cudaErrorMemoryAllocation(), e.code());
        assertTrue(e.getMessage().contains("out of memory"), e.getMessage());
    }

    @Test
    void sliceOfFreedDeviceMemoryIsRejectedInJava() {
        MemorySegment stale;
        try (DeviceMemory m = DeviceMemory.allocate(4096)) {
            stale = m.slice(0, 1024);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(1024);
            assertThrows(IllegalStateException.class, () -> CudaRuntime.copy(host, stale));
        }
    }
}
