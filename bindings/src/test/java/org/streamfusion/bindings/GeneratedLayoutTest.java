package org.streamfusion.bindings;

import org.junit.jupiter.api.Test;
import org.streamfusion.bindings.cudart.Cudart;
import org.streamfusion.bindings.nccl.Nccl;
import org.streamfusion.bindings.nccl.ncclUniqueId;
import org.streamfusion.bindings.nvshmem.Nvshmem;
import org.streamfusion.bindings.nvshmem.nvshmemx_init_args_v1;
import org.streamfusion.bindings.nvshmem.nvshmemx_init_attr_v1;
import org.streamfusion.bindings.nvshmem.nvshmemx_uniqueid_args_v1;
import org.streamfusion.bindings.nvshmem.nvshmemx_uniqueid_v1;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The generated layouts must match the sizes the C headers assert (static_assert in
 * nvshmem_types.h / nvshmem_uniqueid.h, NCCL_UNIQUE_ID_BYTES): a wrong wrapper header or clang
 * setting would change them silently. Needs no native library: only layouts and constants.
 */
class GeneratedLayoutTest {

    @Test
    void nvshmemAttrStructsHaveTheSizesTheHeadersAssert() {
        assertEquals(128, nvshmemx_uniqueid_v1.sizeof());
        assertEquals(24, nvshmemx_uniqueid_args_v1.sizeof());
        assertEquals(128, nvshmemx_init_args_v1.sizeof());
        assertEquals(144, nvshmemx_init_attr_v1.sizeof());
    }

    @Test
    void ncclUniqueIdIsNcclUniqueIdBytesLong() {
        assertEquals(Nccl.NCCL_UNIQUE_ID_BYTES(), ncclUniqueId.sizeof());
        assertEquals(128, ncclUniqueId.sizeof());
    }

    @Test
    void constantsComeFromTheHeadersTheReadmeNames() {
        assertEquals(13000, Cudart.CUDART_VERSION());
        assertEquals(23007, Nccl.NCCL_VERSION_CODE());
        assertEquals(3, Nvshmem.NVSHMEM_VENDOR_MAJOR_VERSION());
        assertEquals(4, Nvshmem.NVSHMEM_VENDOR_MINOR_VERSION());
        assertEquals(5, Nvshmem.NVSHMEM_VENDOR_PATCH_VERSION());
        assertEquals(8, Nvshmem.NVSHMEMX_INIT_WITH_UNIQUEID());
        assertEquals(0, Nvshmem.NVSHMEM_TEAM_WORLD());
        assertEquals(2, Nvshmem.NVSHMEM_STATUS_IS_INITIALIZED());
    }
}
