package org.streamfusion.gpu;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.streamfusion.DType;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.WrongBackendException;
import org.streamfusion.backend.RankDevice;
import org.streamfusion.backend.TensorView;
import org.streamfusion.cpu.CpuRankDevice;
import org.streamfusion.cuda.ManagedTensor;
import org.streamfusion.spi.BackendBuffer;
import org.streamfusion.spi.RankBackend;

/**
 * Tensors in and out through DLPack ({@code DLManagedTensor}, DLPack 1.1), the exchange PyTorch, JAX, CuPy,
 * NumPy, DJL and JavaCPP presets speak: {@link #wrap} makes another framework's tensor a {@link TensorView}
 * without a copy, {@link #export} hands one of this library's views to another framework. A
 * {@code [B, S_local, H, D]} tensor with {@code D} contiguous; the rest is the backend's own {@code wrap} rules:
 * fp32 host memory on the CPU backend ({@code kDLCPU}), BF16 or F16 memory of the rank's GPU on the CUDA backend
 * ({@code kDLCUDA}, {@code kDLCUDAManaged}), strides non-negative and no two elements sharing memory
 * (docs/embedding.md, "DLPack"). It lives in the CUDA module, the one with native access, and serves both backends.
 */
public final class DLPack {
    private DLPack() {
    }

    /**
     * Another framework's tensor as a view of {@code device}, without a copy. Ownership passes on success: the
     * returned tensor's {@link DLPackTensor#close} calls the producer's deleter, once. On a refusal nothing is
     * taken: the deleter is not called and the caller still owns the tensor.
     *
     * @param device        the rank the view is for: a {@code CpuRankDevice} or a {@link CudaRankDevice}
     * @param managedTensor a {@code DLManagedTensor*} (e.g. a PyCapsule's pointer, JavaCPP's {@code address()})
     * @return the view, owning the DLPack tensor
     * @throws InvalidConfigurationException naming the value and the rule: a NULL pointer, {@code ndim != 4},
     *         {@code D} not contiguous, a device or dtype the backend does not hold, or any rule of the backend's
     *         {@code wrap}
     * @throws org.streamfusion.cuda.NativeAccessException naming the flag, if the JVM grants the library no native
     *         access
     */
    public static DLPackTensor wrap(RankDevice device, MemorySegment managedTensor) {
        if (managedTensor == null || managedTensor.equals(MemorySegment.NULL)) {
            throw new InvalidConfigurationException("managedTensor=" + managedTensor, "a DLManagedTensor* is not NULL");
        }
        ManagedTensor t = ManagedTensor.read(managedTensor);
        String at = "DLPack tensor at 0x" + Long.toHexString(t.address());
        if (t.shape().length != 4) {
            throw new InvalidConfigurationException(at + " has ndim=" + t.shape().length,
                    "a layer's tensor is [B, S_local, H, D]: ndim 4");
        }
        if (t.lanes() != 1) {
            throw new InvalidConfigurationException(at + " has " + t.lanes() + " lanes", "one lane per element");
        }
        int[] extents = new int[4];
        for (int i = 0; i < 4; i++) {
            if (t.shape()[i] < 1 || t.shape()[i] > Integer.MAX_VALUE || t.strides()[i] < 0) {
                throw new InvalidConfigurationException(at + " has shape " + Arrays.toString(t.shape())
                        + ", strides " + Arrays.toString(t.strides()),
                        "extents in [1, 2^31), strides non-negative");
            }
            extents[i] = (int) t.shape()[i];
        }
        if (t.strides()[3] != 1) {
            throw new InvalidConfigurationException(at + " has D stride " + t.strides()[3], "D is contiguous (stride 1)");
        }
        DType dtype = dtype(t, at);
        long bytes = bytes(t, dtype, at);
        TensorView view = switch (device) {
            case CpuRankDevice cpu -> {
                requireDevice(t, at, dtype == DType.F32 && t.deviceType() == ManagedTensor.CPU, "fp32 kDLCPU memory");
                yield cpu.wrap(CallerMemory.sized(t.data(), bytes), extents[0], extents[1], extents[2], extents[3],
                        t.strides()[0], t.strides()[1], t.strides()[2]);
            }
            case CudaRankDevice gpu -> {
                boolean cuda = t.deviceType() == ManagedTensor.CUDA || t.deviceType() == ManagedTensor.CUDA_MANAGED;
                requireDevice(t, at, cuda && t.deviceId() == gpu.cudaDevice(),
                        "kDLCUDA or kDLCUDAManaged memory of device " + gpu.cudaDevice());
                yield gpu.wrap(t.data(), bytes, dtype, extents[0], extents[1], extents[2], extents[3], t.strides()[0],
                        t.strides()[1], t.strides()[2]);
            }
            default -> throw new InvalidConfigurationException("DLPack on " + device.getClass().getSimpleName(),
                    "DLPack tensors are for the CPU and CUDA backends");
        };
        return new DLPackTensor(view, t);
    }

    /**
     * One of this library's views as a {@code DLManagedTensor*} for another framework, without a copy. The memory
     * is borrowed: the arena that holds it must stay open until the consumer calls the deleter, which frees the
     * struct and runs {@code onDelete} the first time (a second call does nothing).
     *
     * @param device   the rank that owns the view's memory
     * @param view     a view of one of {@code device}'s buffers
     * @param onDelete run once, when the consumer deletes the tensor (e.g. to close the arena)
     * @return the {@code DLManagedTensor*}
     * @throws WrongBackendException if {@code view}'s buffer is not {@code device}'s kind
     * @throws InvalidConfigurationException if the buffer has no memory to hand over (the simulator's)
     */
    public static MemorySegment export(RankDevice device, TensorView view, Runnable onDelete) {
        RankBackend backend = (RankBackend) device;
        BackendBuffer buffer = (BackendBuffer) WrongBackendException.require(backend.bufferType(),
                view == null ? null : view.base(), "view's buffer");
        MemorySegment memory = buffer.memory().orElseThrow(() -> new InvalidConfigurationException(
                "a " + buffer.getClass().getSimpleName() + " has no memory", "DLPack exports host or device memory"));
        int deviceType = device instanceof CudaRankDevice ? ManagedTensor.CUDA : ManagedTensor.CPU;
        int deviceId = device instanceof CudaRankDevice gpu ? gpu.cudaDevice() : 0;
        DType dtype = buffer.dtype();
        int code = dtype == DType.BF16 ? ManagedTensor.BFLOAT : ManagedTensor.FLOAT;
        return ManagedTensor.export(memory.address(), deviceType, deviceId, code, dtype.bytes() * 8,
                new long[] {view.batch(), view.rows(), view.heads(), view.dim()},
                new long[] {view.batchStride(), view.rowStride(), view.headStride(), 1}, onDelete);
    }

    private static DType dtype(ManagedTensor t, String at) {
        if (t.code() == ManagedTensor.FLOAT && t.bits() == 32) {
            return DType.F32;
        }
        if (t.code() == ManagedTensor.FLOAT && t.bits() == 16) {
            return DType.F16;
        }
        if (t.code() == ManagedTensor.BFLOAT && t.bits() == 16) {
            return DType.BF16;
        }
        throw new InvalidConfigurationException(at + " has dtype code " + t.code() + ", " + t.bits() + " bits",
                "float32 (CPU), bfloat16 or float16 (GPU)");
    }

    private static long bytes(ManagedTensor t, DType dtype, String at) {
        try {
            long last = 0;
            for (int i = 0; i < 4; i++) {
                last = Math.addExact(last, Math.multiplyExact(t.shape()[i] - 1, t.strides()[i]));
            }
            return Math.multiplyExact(last + 1, dtype.bytes());
        } catch (ArithmeticException e) {
            throw new InvalidConfigurationException(at + " spans more than 2^63 bytes", "a tensor fits the address space",
                    e);
        }
    }

    private static void requireDevice(ManagedTensor t, String at, boolean ok, String rule) {
        if (!ok) {
            throw new InvalidConfigurationException(at + " is device type " + t.deviceType() + " (id " + t.deviceId()
                    + "), dtype code " + t.code() + "/" + t.bits() + " bits", "this backend takes " + rule);
        }
    }
}
