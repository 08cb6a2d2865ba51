package org.streamfusion.cuda;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.streamfusion.bindings.nvshmem.Nvshmem;
import org.streamfusion.cuda.loader.NativeLibraryException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Messages of the typed exceptions: call, code and the library's text, in one line. */
class ExceptionFormattingTest {

    @Test
    void cudaExceptionShowsCallNameCodeAndCudaText() {
        var e = new CudaException("cudaMalloc", 2, "cudaErrorMemoryAllocation", "out of memory");
        assertEquals("cudaMalloc failed: cudaErrorMemoryAllocation (2): out of memory", e.getMessage());
        assertEquals("cudaMalloc", e.call());
        assertEquals(2, e.code());
        assertEquals("out of memory", e.nativeMessage());
        assertEquals("cudaErrorMemoryAllocation", e.errorName());
    }

    @Test
    void ncclExceptionAppendsLastErrorOnlyWhenThereIsOne() {
        var withDetail = new NcclException("ncclCommInitRank", 4, "invalid argument", "rank 3 >= nranks 2");
        assertEquals("ncclCommInitRank failed: invalid argument (ncclResult_t 4); last error: rank 3 >= nranks 2",
                withDetail.getMessage());
        assertEquals("rank 3 >= nranks 2", withDetail.lastError());
        var bare = new NcclException("ncclSend", 5, "invalid usage", "");
        assertFalse(bare.getMessage().contains("last error"), bare.getMessage());
    }

    @Test
    void nvshmemStatusNamesMatchTheGeneratedEnum() {
        assertEquals("NVSHMEMX_ERROR_INTERNAL", NvshmemException.statusName(Nvshmem.NVSHMEMX_ERROR_INTERNAL()));
        assertEquals("NVSHMEMX_ERROR_OUT_OF_MEMORY", NvshmemException.statusName(Nvshmem.NVSHMEMX_ERROR_OUT_OF_MEMORY()));
        assertEquals("NVSHMEMX_ERROR_GPU_NOT_SELECTED", NvshmemException.statusName(Nvshmem.NVSHMEMX_ERROR_GPU_NOT_SELECTED()));
        var e = new NvshmemException("nvshmemx_hostlib_init_attr", 7, NvshmemException.statusName(7));
        assertEquals("nvshmemx_hostlib_init_attr failed: NVSHMEMX_ERROR_INTERNAL (status 7)", e.getMessage());
    }

    @Test
    void libraryExceptionListsEveryAttemptOnItsOwnLine() {
        var e = new NativeLibraryException("NCCL (libnccl)", List.of(
                new NativeLibraryException.Attempt("libnccl.so.2 (linker search)", "libnccl.so.2: cannot open shared object file"),
                new NativeLibraryException.Attempt("/usr/local/cuda/lib64/libnccl.so.2 (well-known directory)", "boom")),
                "streamfusion.nccl.path", "STREAMFUSION_NCCL_PATH");
        String[] lines = e.getMessage().split("\n");
        assertEquals("Cannot load NCCL (libnccl): 2 paths tried:", lines[0]);
        assertEquals("  - libnccl.so.2 (linker search): libnccl.so.2: cannot open shared object file", lines[1]);
        assertTrue(lines[3].contains("-Dstreamfusion.nccl.path=") && lines[3].contains("STREAMFUSION_NCCL_PATH"), lines[3]);
    }
}
