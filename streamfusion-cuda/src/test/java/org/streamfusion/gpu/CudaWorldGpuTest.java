package org.streamfusion.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.streamfusion.DType;
import org.streamfusion.InvalidStateException;
import org.streamfusion.RankFailedException;
import org.streamfusion.Topology;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Stream;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.spi.Communicator.Transfer;

/** The in-process world's own rules on one GPU: its ring, its failure, its memory (docs/one-gpu-world.md). */
@Tag("gpu")
class CudaWorldGpuTest {
    private static final int LEN = 1 << 14;

    private static GpuOptions options(Duration timeout) {
        return new GpuOptions(timeout, false, true, GpuOptions.OneSidedMover.SM_KERNEL,
                GpuOptions.OneSidedMover.COPY_ENGINE, true);
    }

    private static float[] tagged(int rank) {
        float[] v = new float[LEN];
        for (int i = 0; i < LEN; i++) {
            v[i] = rank * 1_000_000f + i;
        }
        return v;
    }

    @Test
    void aRingOfSendsDeliversEveryRanksBytesToTheNextRankOnAFourRankWorld() {
        assumeTrue(CudaRuntime.isAvailable(), "no GPU");
        try (CudaWorld world = CudaWorld.create(Topology.of(2, 2), 0, options(Duration.ofSeconds(60)))) {
            List<float[]> received = world.run(dev -> {
                int me = dev.rank();
                try (DeviceArena arena = dev.newArena()) {
                    Stream s = arena.createStream("ring");
                    Buffer mine = arena.allocate(LEN, DType.F32);
                    Buffer fromPrevious = arena.allocate(LEN, DType.F32);
                    HostTransfer.upload(mine, tagged(me));
                    dev.communicator().exchange(List.of(new Transfer((me + 1) % 4, mine)),
                            List.of(new Transfer((me + 3) % 4, fromPrevious)), s, "ring");
                    s.synchronize("ring");
                    return HostTransfer.download(fromPrevious);
                }
            });
            for (int rank = 0; rank < 4; rank++) {
                assertArrayEquals(tagged((rank + 3) % 4), received.get(rank), "rank " + rank);
            }
        }
    }

    @Test
    void aRankThatThrowsEndsItsPeersWaitAtOnceAndRunRethrowsItsException() {
        assumeTrue(CudaRuntime.isAvailable(), "no GPU");
        try (CudaWorld world = CudaWorld.create(Topology.of(1, 2), 0, options(Duration.ofMinutes(5)))) {
            long start = System.nanoTime();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> world.run(dev -> {
                if (dev.rank() == 1) {
                    throw new IllegalStateException("rank 1 gave up");
                }
                try (DeviceArena arena = dev.newArena()) {
                    Buffer b = arena.allocate(LEN, DType.F32);
                    dev.communicator().recv(b, 1, arena.createStream("wait"), "receive from rank 1");
                }
                return null;
            }));
            assertEquals("rank 1 gave up", e.getMessage());
            assertTrue(e.getSuppressed().length == 1 && e.getSuppressed()[0] instanceof RankFailedException,
                    "rank 0's wait ended naming the failure: " + List.of(e.getSuppressed()));
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(20).toNanos(), "not at the 5-minute timeout");
            assertThrows(InvalidStateException.class, () -> world.run(dev -> null), "a failed world stays failed");
        }
    }

    @Test
    void twentyWorldsMadeAndClosedLeaveTheDevicesMemoryWhereItWas() {
        assumeTrue(CudaRuntime.isAvailable(), "no GPU");
        try (CudaWorld warm = CudaWorld.create(Topology.of(1, 2), 0, options(Duration.ofSeconds(60)))) {
            warm.run(dev -> null);
        }
        long before = CudaRuntime.memoryInfo().freeBytes();
        for (int i = 0; i < 20; i++) {
            try (CudaWorld world = CudaWorld.create(Topology.of(2, 2), 0, options(Duration.ofSeconds(60)))) {
                world.run(dev -> {
                    try (DeviceArena arena = dev.newArena()) {
                        arena.allocateSymmetric(1 << 20, DType.BF16);
                        arena.allocate(1 << 20, DType.BF16);
                    }
                    return null;
                });
            }
        }
        long lost = before - CudaRuntime.memoryInfo().freeBytes();
        assertTrue(lost < (8L << 20), "device memory lost over 20 worlds: " + lost + " bytes");
    }
}
