package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Stream;
import org.streamfusion.cpu.CpuBuffer;
import org.streamfusion.cpu.CpuOptions;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.spi.Communicator.Transfer;

/** The CPU fabric keeps NVSHMEM's and NCCL's contracts, and no more, so that schedule bugs surface. */
class FabricSemanticsTest {
    private static final Topology TOPO = Topology.of(2, 2);

    @Test
    void aPutIsVisibleAtItsDestinationAfterABarrierAndNotBefore() {
        java.util.concurrent.CountDownLatch allRead = new java.util.concurrent.CountDownLatch(4);
        try (CpuWorld w = CpuWorld.create(TOPO)) {
            List<float[]> seen = w.run(dev -> {
                try (DeviceArena arena = dev.newArena()) {
                    Stream s = arena.createStream("comm");
                    Buffer sym = arena.allocateSymmetric(4, DType.F32);
                    Buffer src = arena.allocate(4, DType.F32);
                    ((CpuBuffer) src).write(new float[] {dev.rank(), dev.rank(), dev.rank(), dev.rank()});
                    int next = (dev.rank() + 1) % 4;
                    dev.communicator().scatterPush(List.of(src), sym, new int[] {next}, s, "push");
                    s.synchronize("after push");
                    float before = ((CpuBuffer) sym).read()[0];
                    // No rank may reach its barrier (where its puts land) before every rank has looked.
                    allRead.countDown();
                    try {
                        allRead.await();
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                    dev.communicator().barrierAll(s, "barrier");
                    s.synchronize("after barrier");
                    float[] after = ((CpuBuffer) sym).read();
                    return new float[] {before, after[0]};
                }
            });
            for (int g = 0; g < 4; g++) {
                assertTrue(Float.isNaN(seen.get(g)[0]), "rank " + g + " saw a put before the barrier");
                assertEquals((g + 3) % 4, seen.get(g)[1], "rank " + g);
            }
            assertEquals(4 * 4 * Float.BYTES, w.bytes(LinkClass.INTRA_MACHINE) + w.bytes(LinkClass.INTER_MACHINE));
        }
    }

    @Test
    void grouppedSendAndReceiveMatchInOrderPerPeerAndCountTheSenderLink() {
        try (CpuWorld w = CpuWorld.create(TOPO)) {
            List<float[]> got = w.run(dev -> {
                try (DeviceArena arena = dev.newArena()) {
                    Stream s = arena.createStream("comm");
                    int peer = dev.rank() ^ 2; // the other machine
                    Buffer a = arena.allocate(2, DType.F32);
                    Buffer b = arena.allocate(2, DType.F32);
                    ((CpuBuffer) a).write(new float[] {dev.rank(), 1});
                    ((CpuBuffer) b).write(new float[] {dev.rank(), 2});
                    Buffer ra = arena.allocate(2, DType.F32);
                    Buffer rb = arena.allocate(2, DType.F32);
                    dev.communicator().exchange(List.of(new Transfer(peer, a), new Transfer(peer, b)),
                            List.of(new Transfer(peer, ra), new Transfer(peer, rb)), s, "exchange");
                    s.synchronize("exchange");
                    float[] x = ((CpuBuffer) ra).read();
                    float[] y = ((CpuBuffer) rb).read();
                    return new float[] {x[0], x[1], y[0], y[1]};
                }
            });
            for (int g = 0; g < 4; g++) {
                assertArrayEquals(new float[] {g ^ 2, 1, g ^ 2, 2}, got.get(g));
            }
            assertEquals(4 * 2 * 2 * Float.BYTES, w.bytes(LinkClass.INTER_MACHINE));
            assertEquals(0, w.bytes(LinkClass.INTRA_MACHINE));
        }
    }

    @Test
    void allToAllOverAStridedGroupDeliversSlotJToMemberJAndSendRecvPairUp() {
        ProcessGroup odd = new ProcessGroup("odd", 1, 2, 2); // ranks 1 and 3
        ProcessGroup even = new ProcessGroup("even", 0, 2, 2); // ranks 0 and 2
        try (CpuWorld w = CpuWorld.create(TOPO)) {
            List<float[]> got = w.run(dev -> {
                try (DeviceArena arena = dev.newArena()) {
                    Stream s = arena.createStream("comm");
                    ProcessGroup g = dev.rank() % 2 == 0 ? even : odd;
                    List<Buffer> sends = new java.util.ArrayList<>();
                    List<Buffer> recvs = new java.util.ArrayList<>();
                    for (int j = 0; j < 2; j++) {
                        Buffer b = arena.allocate(1, DType.F32);
                        ((CpuBuffer) b).write(new float[] {dev.rank() * 10 + g.member(j)});
                        sends.add(b);
                        recvs.add(arena.allocate(1, DType.F32));
                    }
                    dev.communicator().allToAll(sends, recvs, g, s, "all-to-all");
                    Buffer one = arena.allocate(1, DType.F32);
                    ((CpuBuffer) one).write(new float[] {100 + dev.rank()});
                    Buffer in = arena.allocate(1, DType.F32);
                    if (dev.rank() == 0) {
                        dev.communicator().send(one, 1, s, "send");
                    } else if (dev.rank() == 1) {
                        dev.communicator().recv(in, 0, s, "recv");
                    }
                    s.synchronize("done");
                    return new float[] {((CpuBuffer) recvs.get(0)).read()[0], ((CpuBuffer) recvs.get(1)).read()[0],
                            ((CpuBuffer) in).read()[0]};
                }
            });
            for (int r = 0; r < 4; r++) {
                ProcessGroup g = r % 2 == 0 ? even : odd;
                assertEquals(g.member(0) * 10 + r, got.get(r)[0], "rank " + r + " slot 0");
                assertEquals(g.member(1) * 10 + r, got.get(r)[1], "rank " + r + " slot 1");
            }
            assertEquals(100f, got.get(1)[2]);
        }
    }

    @Test
    void twoSidedTransfersMatchOnlyWithinTheirLaneAsOnTheGpusNcclCommunicators() {
        // A send on the ring lane meets a receive on the ring lane; a receive on another stream does not
        // see it (on the GPU the two lanes are different NCCL communicators), and times out.
        try (CpuWorld w = CpuWorld.create(TOPO, CpuOptions.defaults().withTimeout(Duration.ofMillis(300)))) {
            List<Float> got = w.run(dev -> {
                try (DeviceArena arena = dev.newArena()) {
                    Stream ring = arena.createStream(org.streamfusion.spi.Communicator.RING_LANE);
                    Buffer out = arena.allocate(1, DType.F32);
                    ((CpuBuffer) out).write(new float[] {dev.rank()});
                    Buffer in = arena.allocate(1, DType.F32);
                    dev.communicator().exchange(List.of(new Transfer(dev.rank() ^ 1, out)),
                            List.of(new Transfer(dev.rank() ^ 1, in)), ring, "ring-lane exchange");
                    ring.synchronize("ring lane");
                    return ((CpuBuffer) in).read()[0];
                }
            });
            for (int g = 0; g < 4; g++) {
                assertEquals(g ^ 1, got.get(g), "rank " + g);
            }
            var e = assertThrows(CommunicationTimeoutException.class, () -> w.run(dev -> {
                try (DeviceArena arena = dev.newArena()) {
                    Stream ring = arena.createStream(org.streamfusion.spi.Communicator.RING_LANE);
                    Stream comm = arena.createStream("comm");
                    Buffer b = arena.allocate(1, DType.F32);
                    if (dev.rank() == 0) {
                        dev.communicator().send(b, 1, ring, "ring send");
                        ring.synchronize("sent");
                    } else if (dev.rank() == 1) {
                        dev.communicator().recv(b, 0, comm, "comm receive");
                        comm.synchronize("received");
                    }
                    return null;
                }
            }));
            // Whichever side times out first, the fabric names the lane it waited on.
            assertTrue(e.getMessage().contains("send to rank 1 on the ring lane never received")
                    || e.getMessage().contains("receive from rank 0 on the default lane never matched"), e.getMessage());
        }
    }

    @Test
    void aReceiveThatNoRankSendsTimesOutNamingRankAndStep() {
        try (CpuWorld w = CpuWorld.create(TOPO, CpuOptions.defaults().withTimeout(Duration.ofMillis(300)))) {
            var e = assertThrows(CommunicationTimeoutException.class, () -> w.run(dev -> {
                try (DeviceArena arena = dev.newArena()) {
                    Stream s = arena.createStream("comm");
                    if (dev.rank() == 1) {
                        dev.communicator().exchange(List.of(), List.of(new Transfer(3, arena.allocate(1, DType.F32))), s,
                                "orphan receive");
                    }
                    s.synchronize("done");
                    return null;
                }
            }));
            assertEquals(1, e.rank());
            assertTrue(e.getMessage().contains("'orphan receive'") && e.getMessage().contains("rank 3"), e.getMessage());
        }
    }

    @Test
    void oneSidedCallsRefuseLocalMemoryMissizedBuffersAndPeersOutsideTheWorld() {
        try (CpuWorld w = CpuWorld.create(Topology.of(1, 1))) {
            var dev = w.device(0);
            try (DeviceArena arena = dev.newArena()) {
                Stream s = arena.createStream("comm");
                Buffer local = arena.allocate(4, DType.F32);
                Buffer sym = arena.allocateSymmetric(4, DType.F32);
                var comm = dev.communicator();
                var notSymmetric = assertThrows(InvalidArgumentException.class,
                        () -> comm.scatterPush(List.of(sym), local, new int[] {0}, s, "push"));
                assertTrue(notSymmetric.getMessage().contains("rule: peers address only symmetric buffers"));
                var size = assertThrows(InvalidArgumentException.class,
                        () -> comm.gatherPull(List.of(arena.allocate(2, DType.F32)), sym, new int[] {0}, s, "pull"));
                assertTrue(size.getMessage().contains("16 bytes into 8"), size.getMessage());
                var count = assertThrows(InvalidArgumentException.class,
                        () -> comm.scatterPush(List.of(local, local), sym, new int[] {0}, s, "push"));
                assertTrue(count.getMessage().contains("2 buffers for 1 PEs"), count.getMessage());
                var peer = assertThrows(InvalidArgumentException.class,
                        () -> comm.gatherPull(List.of(local), sym, new int[] {1}, s, "pull"));
                assertTrue(peer.getMessage().contains("peer 1 is outside the world of 1"), peer.getMessage());
            }
        }
    }

    @Test
    void symmetricAllocationsOfDifferentSizesAreRejected() {
        try (CpuWorld w = CpuWorld.create(TOPO, CpuOptions.defaults().withTimeout(Duration.ofSeconds(2)))) {
            var e = assertThrows(InvalidStateException.class, () -> w.run(dev -> {
                try (DeviceArena arena = dev.newArena()) {
                    arena.allocateSymmetric(dev.rank() == 0 ? 8 : 4, DType.F32);
                    return null;
                }
            }));
            assertTrue(e.getMessage().contains("same sizes in the same order"), e.getMessage());
        }
    }
}
