package org.streamfusion.cuda.nccl;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.cuda.DeviceMemory;
import org.streamfusion.cuda.NcclException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One rank on one GPU: exercises every bound NCCL entry point against the system NCCL (2.28 on the GPU machine). */
@Tag("gpu")
class NcclGpuTest {

    @BeforeAll
    static void device() {
        CudaRuntime.requireAvailable();
        CudaRuntime.setDevice(0);
        System.out.printf("NCCL %d from %s%n", NcclCommunicator.version(), NcclCommunicator.library().path());
    }

    @Test
    void singleRankCommunicatorAllReducesSplitsAndSendsToItself() {
        int n = 1024;
        try (Arena arena = Arena.ofConfined();
             CudaStream stream = CudaStream.create();
             DeviceMemory a = DeviceMemory.allocate(n * 4L);
             DeviceMemory b = DeviceMemory.allocate(n * 4L);
             NcclCommunicator comm = NcclCommunicator.initRank(1, NcclCommunicator.uniqueId(), 0)) {
            assertEquals(0, comm.rank());
            assertEquals(1, comm.size());
            MemorySegment host = arena.allocate(JAVA_FLOAT, n);
            for (int i = 0; i < n; i++) {
                host.setAtIndex(JAVA_FLOAT, i, i * 0.5f);
            }
            a.copyFrom(host);
            comm.allReduce(a.segment(), b.segment(), n, NcclDataType.FLOAT32, NcclRedOp.SUM, stream);

            try (NcclCommunicator child = comm.split(0, 0).orElseThrow()) {
                assertEquals(1, child.size());
                // Send to self inside a group: the recv lands the allReduce result back in a.
                NcclCommunicator.groupStart();
                child.send(b.segment(), n, NcclDataType.FLOAT32, 0, stream);
                child.recv(a.segment(), n, NcclDataType.FLOAT32, 0, stream);
                NcclCommunicator.groupEnd();
                stream.synchronize();
                child.checkAsyncError();
            }
            MemorySegment back = arena.allocate(JAVA_FLOAT, n);
            a.copyTo(back);
            assertEquals(-1L, back.mismatch(host), "one-rank sum is the identity");
            comm.checkAsyncError();
        }
    }

    @Test
    void badRankFailsWithNcclsErrorString() {
        NcclException e = assertThrows(NcclException.class,
                () -> NcclCommunicator.initRank(1, NcclCommunicator.uniqueId(), 5));
        assertEquals("ncclCommInitRank", e.call());
        assertTrue(e.getMessage().contains("invalid argument"), e.getMessage());
        System.out.println("expected failure: " + e.getMessage());
    }
}
