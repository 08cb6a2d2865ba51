package org.streamfusion.cuda;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.streamfusion.bindings.dlpack.DLDataType;
import org.streamfusion.bindings.dlpack.DLDevice;
import org.streamfusion.bindings.dlpack.DLManagedTensor;
import org.streamfusion.bindings.dlpack.DLTensor;

/**
 * One DLPack {@code DLManagedTensor} (DLPack 1.1, {@code dlpack.h}), read as plain values, whose deleter this
 * object calls exactly once: on {@link #close}. {@link #export} makes one for another framework to consume,
 * with a deleter that releases what it allocated, once, however often it is called. Whether the memory suits a
 * backend is the backend's question ({@code org.streamfusion.gpu.DLPack}); here only the struct is read.
 *
 * @param address    the {@code DLManagedTensor*}
 * @param data       {@code data + byte_offset}: the address of element 0
 * @param deviceType {@code device.device_type}, e.g. {@link #CPU}, {@link #CUDA}
 * @param deviceId   {@code device.device_id}
 * @param code       {@code dtype.code}, e.g. {@link #FLOAT}, {@link #BFLOAT}
 * @param bits       {@code dtype.bits}
 * @param lanes      {@code dtype.lanes}
 * @param shape      {@code shape[0..ndim)}
 * @param strides    {@code strides[0..ndim)} in elements; a NULL {@code strides} reads as the compact row-major ones
 * @param deleter    the producer's deleter, which {@link #close} calls once
 */
public record ManagedTensor(long address, long data, int deviceType, int deviceId, int code, int bits, int lanes,
        long[] shape, long[] strides, DeleterCall deleter) implements AutoCloseable {
    // The codes as dlpack.h defines them, as literals: reading them from the bindings would initialise the
    // bindings (a restricted call) before NativeAccess could name the flag. DLPackTest checks them against it.
    /** {@code kDLCPU}. */
    public static final int CPU = 1;
    /** {@code kDLCUDA}. */
    public static final int CUDA = 2;
    /** {@code kDLCUDAManaged}. */
    public static final int CUDA_MANAGED = 13;
    /** {@code kDLFloat}. */
    public static final int FLOAT = 2;
    /** {@code kDLBfloat}. */
    public static final int BFLOAT = 4;

    private static final System.Logger LOG = System.getLogger(ManagedTensor.class.getName());
    /** The exports not yet deleted, by the address of their {@code DLManagedTensor}. */
    private static final Map<Long, Arena> EXPORTS = new ConcurrentHashMap<>();
    private static final Map<Long, Runnable> ON_DELETE = new ConcurrentHashMap<>();

    /** The producer's deleter ({@code NULL}: none), called at most once. */
    public static final class DeleterCall {
        private final MemorySegment function;
        private final MemorySegment self;
        private final AtomicBoolean called = new AtomicBoolean();

        DeleterCall(MemorySegment function, MemorySegment self) {
            this.function = function;
            this.self = self;
        }

        void callOnce() {
            if (called.compareAndSet(false, true) && !function.equals(MemorySegment.NULL)) {
                DLManagedTensor.deleter.invoke(function, self);
            }
        }
    }

    /**
     * Reads the tensor at {@code managedTensor}; nothing is called and nothing is owned until the caller keeps
     * the result (its {@link #close} calls the deleter).
     *
     * @param managedTensor a {@code DLManagedTensor*}, not NULL
     * @return its values
     * @throws NativeAccessException naming the flag, if the JVM grants the library no native access
     */
    public static ManagedTensor read(MemorySegment managedTensor) {
        return NativeAccess.call("reading a DLManagedTensor", () -> {
            // A raw pointer: the struct's owner (perhaps an arena of an export) is not held while the deleter runs.
            MemorySegment self = MemorySegment.ofAddress(managedTensor.address()).reinterpret(DLManagedTensor.sizeof());
            MemorySegment tensor = DLManagedTensor.dl_tensor(self);
            MemorySegment device = DLTensor.device(tensor);
            MemorySegment dtype = DLTensor.dtype(tensor);
            int ndim = DLTensor.ndim(tensor);
            long[] shape = ndim <= 0 ? new long[0]
                    : DLTensor.shape(tensor).reinterpret(ndim * JAVA_LONG.byteSize()).toArray(JAVA_LONG);
            MemorySegment stridePointer = DLTensor.strides(tensor);
            long[] strides = stridePointer.equals(MemorySegment.NULL) ? compact(shape)
                    : stridePointer.reinterpret(ndim * JAVA_LONG.byteSize()).toArray(JAVA_LONG);
            return new ManagedTensor(managedTensor.address(),
                    DLTensor.data(tensor).address() + DLTensor.byte_offset(tensor), DLDevice.device_type(device),
                    DLDevice.device_id(device), Byte.toUnsignedInt(DLDataType.code(dtype)),
                    Byte.toUnsignedInt(DLDataType.bits(dtype)), Short.toUnsignedInt(DLDataType.lanes(dtype)), shape,
                    strides, new DeleterCall(DLManagedTensor.deleter(self), self));
        });
    }

    /**
     * A new {@code DLManagedTensor} over memory this library holds, for another framework. Its deleter frees the
     * struct and runs {@code onDelete} the first time it is called; later calls do nothing. The memory itself is
     * borrowed: it must stay valid until the deleter runs.
     *
     * @param data       the address of element 0
     * @param deviceType {@link #CPU} or {@link #CUDA}
     * @param deviceId   the device's ordinal (0 for the CPU)
     * @param code       the dtype code
     * @param bits       the dtype's bits
     * @param shape      the extents
     * @param strides    the strides in elements
     * @param onDelete   run once, when the consumer deletes the tensor
     * @return the {@code DLManagedTensor*}
     */
    public static MemorySegment export(long data, int deviceType, int deviceId, int code, int bits, long[] shape,
            long[] strides, Runnable onDelete) {
        return NativeAccess.call("exporting a DLManagedTensor", () -> {
            Arena arena = Arena.ofShared();
            try {
                return exportIn(arena, data, deviceType, deviceId, code, bits, shape, strides, onDelete);
            } catch (RuntimeException | Error e) {
                arena.close();
                throw e;
            }
        });
    }

    private static MemorySegment exportIn(Arena arena, long data, int deviceType, int deviceId, int code, int bits,
            long[] shape, long[] strides, Runnable onDelete) {
        MemorySegment self = DLManagedTensor.allocate(arena);
        long id = self.address(); // the deleter finds the export by the pointer it is given, never reading it
        MemorySegment tensor = DLManagedTensor.dl_tensor(self);
        DLTensor.data(tensor, MemorySegment.ofAddress(data));
        DLDevice.device_type(DLTensor.device(tensor), deviceType);
        DLDevice.device_id(DLTensor.device(tensor), deviceId);
        DLTensor.ndim(tensor, shape.length);
        DLDataType.code(DLTensor.dtype(tensor), (byte) code);
        DLDataType.bits(DLTensor.dtype(tensor), (byte) bits);
        DLDataType.lanes(DLTensor.dtype(tensor), (short) 1);
        DLTensor.shape(tensor, arena.allocateFrom(JAVA_LONG, shape));
        DLTensor.strides(tensor, arena.allocateFrom(JAVA_LONG, strides));
        DLTensor.byte_offset(tensor, 0);
        DLManagedTensor.manager_ctx(self, MemorySegment.NULL); // the producer's context is not needed: see EXPORTS
        DLManagedTensor.deleter(self, Deleter.STUB);
        ON_DELETE.put(id, onDelete);
        EXPORTS.put(id, arena);
        return MemorySegment.ofAddress(self.address()); // a raw pointer, as a C producer hands out
    }

    /** {@return how many exported tensors no consumer has deleted yet} */
    public static int liveExports() {
        return EXPORTS.size();
    }

    /** The producer's deleter, once; further calls do nothing. */
    @Override
    public void close() {
        deleter.callOnce();
    }

    private static long[] compact(long[] shape) {
        long[] strides = new long[shape.length];
        long step = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            strides[i] = step;
            step *= shape[i];
        }
        return strides;
    }

    /** One upcall stub for every export: the export is found by the struct's address. */
    private static final class Deleter {
        static final MemorySegment STUB = DLManagedTensor.deleter.allocate(Deleter::delete, Arena.global());

        private static void delete(MemorySegment self) {
            // An exception must not leave an upcall (the JVM would exit): log it instead.
            try {
                // Keyed by address: the struct is freed by the first call, so it is never read here.
                long id = self.address();
                Arena arena = EXPORTS.remove(id);
                if (arena == null) {
                    return; // deleted before: a consumer's second call
                }
                Runnable onDelete = ON_DELETE.remove(id);
                arena.close();
                onDelete.run();
            } catch (RuntimeException | Error e) {
                LOG.log(Level.ERROR, "the deleter of an exported DLManagedTensor failed", e);
            }
        }
    }
}
