package org.streamfusion.gpu;

import java.lang.foreign.MemorySegment;
import org.streamfusion.DType;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.backend.TensorView;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.cuda.NativeAccess;
import org.streamfusion.spi.CallerLayout;

/**
 * The checks that make a caller's device memory a {@link TensorView} without a copy: each failure names the
 * value and the rule. The kernels read and write 16 bytes at a time, so the address and every stride
 * (in elements of a 16-bit type) must be multiples of 16 bytes.
 */
final class CallerMemory {
    private CallerMemory() {
    }

    /**
     * The caller's raw device pointer as a segment of {@code bytes}: the restricted call the caller would
     * otherwise make itself (and need native access for), made here, where the library's flag grants it.
     */
    static MemorySegment sized(long address, long bytes) {
        if (bytes < 0) {
            throw new InvalidConfigurationException("bytes=" + bytes + " at 0x" + Long.toHexString(address),
                    "a caller's memory has a non-negative size");
        }
        return NativeAccess.call("sizing the device pointer 0x" + Long.toHexString(address),
                () -> MemorySegment.ofAddress(address).reinterpret(bytes));
    }

    static TensorView wrap(MemorySegment memory, DType dtype, int cudaDevice, int rank, int batch, int rows, int heads,
            int dim, long batchStride, long rowStride, long headStride) {
        if (memory == null) {
            throw new InvalidConfigurationException("memory=null", "a caller's tensor is a segment of device memory");
        }
        if (dtype != DType.BF16 && dtype != DType.F16) {
            throw new InvalidConfigurationException("dtype " + dtype + " for a caller's tensor",
                    "Q, K, V and O are BF16 or F16 on the GPU");
        }
        String at = "0x" + Long.toHexString(memory.address());
        if (memory.address() % 16 != 0) {
            throw new InvalidConfigurationException("address " + at + " is not 16-byte aligned",
                    "a caller's tensor starts on a 16-byte boundary");
        }
        long[] strides = {batchStride, rowStride, headStride};
        String[] names = {"batch stride", "row stride", "head stride"};
        for (int i = 0; i < 3; i++) {
            if (strides[i] < 0 || strides[i] % 8 != 0) {
                throw new InvalidConfigurationException(names[i] + " " + strides[i] + " elements",
                        "strides are non-negative multiples of 8 elements (16 bytes)");
            }
        }
        long need = CallerLayout.bytes(memory, dtype, batch, rows, heads, dim, batchStride, rowStride, headStride);
        CudaRuntime.PointerInfo where = CudaRuntime.pointerInfo(memory);
        if (where.type() != CudaRuntime.MemoryType.DEVICE && where.type() != CudaRuntime.MemoryType.MANAGED) {
            throw new InvalidConfigurationException("memory at " + at + " is " + where.type() + " memory",
                    "a caller's tensor is device (or managed) memory");
        }
        if (where.device() != cudaDevice) {
            throw new InvalidConfigurationException("memory at " + at + " is on device " + where.device() + ", rank " + rank
                    + " runs on device " + cudaDevice, "a caller's tensor is on its rank's GPU");
        }
        GpuBuffer base = new GpuBuffer(sized(memory.address(), need), dtype, null, 0);
        return new TensorView(base, batch, rows, heads, dim, batchStride, rowStride, headStride);
    }
}
