package org.streamfusion.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Optional;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.InvalidStateException;
import org.streamfusion.bindings.cudart.Cudart;
import org.streamfusion.cuda.internal.OutParameter;
import org.streamfusion.cuda.loader.LoadedLibrary;
import org.streamfusion.cuda.loader.NativeLibrary;
import org.streamfusion.cuda.loader.NativeLibraryException;
import org.streamfusion.cuda.loader.NativeLoader;

/**
 * Entry point to the CUDA runtime: availability, device selection and error checking.
 *
 * <p>Nothing here loads a library or calls CUDA during class initialisation. {@link #isAvailable()}
 * probes once, lazily, and reports failure as a value ({@link #unavailabilityCause()}) instead of
 * throwing, so callers can fall back to the CPU path.
 */
public final class CudaRuntime {
    private CudaRuntime() {
    }

    // Initialization-on-demand holder: the probe runs on first use and can never fail class init.
    private static final class Probe {
        static final Throwable CAUSE = probe(NativeLoader.global());
    }

    /** {@return true when libcudart loads and reports at least one device} Never throws. */
    public static boolean isAvailable() {
        return Probe.CAUSE == null;
    }

    /** {@return why CUDA cannot be used here (names the library); empty when {@link #isAvailable()}} */
    public static Optional<Throwable> unavailabilityCause() {
        return Optional.ofNullable(Probe.CAUSE);
    }

    /**
     * Tries {@code loader}: loads libcudart and counts devices. Returns null when usable, else the
     * cause (a {@link NativeLibraryException} or an {@link InvalidStateException} naming the file).
     * Never throws.
     *
     * @param loader the loader to load libcudart with
     * @return null when CUDA is usable, else the cause
     */
    public static Throwable probe(NativeLoader loader) {
        LoadedLibrary lib;
        try {
            lib = loader.load(NativeLibrary.CUDART);
        } catch (NativeLibraryException e) {
            return NativeAccess.named("loading " + NativeLibrary.CUDART.displayName(), e);
        } catch (Throwable t) {
            if (NativeAccess.refused(t)) {
                return NativeAccess.named("loading " + NativeLibrary.CUDART.displayName(), t);
            }
            return new InvalidStateException("Cannot load " + NativeLibrary.CUDART.displayName() + ": " + t, t);
        }
        String where = NativeLibrary.CUDART.displayName() + " loaded from " + lib.path();
        try {
            int count = deviceCount();
            return count > 0 ? null
                    : new InvalidStateException(where + ", but cudaGetDeviceCount reports no device");
        } catch (CudaException e) {
            return new InvalidStateException(where + ", but no device is usable: " + e.getMessage(), e);
        } catch (Throwable t) {
            return new InvalidStateException(where + ", but calling it failed: " + t, t);
        }
    }

    /**
     * Loads libcudart if needed; throws {@link NativeLibraryException} when it cannot be loaded.
     *
     * @return the loaded libcudart and where it came from
     */
    public static LoadedLibrary library() {
        return NativeLoader.global().load(NativeLibrary.CUDART);
    }

    /** Throws the availability cause, wrapped, unless CUDA is usable. */
    public static void requireAvailable() {
        Throwable cause = Probe.CAUSE;
        if (cause instanceof NativeLibraryException || cause instanceof NativeAccessException) {
            throw (RuntimeException) cause;
        }
        if (cause != null) {
            throw new InvalidStateException(cause.getMessage(), cause);
        }
    }

    /**
     * Throws a {@link CudaException} for {@code rc != cudaSuccess}.
     *
     * @param call the runtime function that returned {@code rc}, for the message
     * @param rc   its {@code cudaError_t}
     */
    public static void check(String call, int rc) {
        if (rc != Cudart.cudaSuccess()) {
            throw error(call, rc);
        }
    }

    /**
     * The exception for a failed call, with cudaGetErrorName/cudaGetErrorString text. Also clears
     * the runtime's last-error slot, so an unrelated later cudaGetLastError does not report it again.
     *
     * @param call the runtime function that failed
     * @param rc   its {@code cudaError_t}
     * @return the exception, for the caller to throw
     */
    public static CudaException error(String call, int rc) {
        library();
        Cudart.cudaGetLastError();
        return new CudaException(call, rc, errorName(rc), errorString(rc));
    }

    /**
     * {@code cudaGetErrorName}, e.g. "cudaErrorInvalidDevice".
     *
     * @param code a {@code cudaError_t}
     * @return its symbolic name
     */
    public static String errorName(int code) {
        library();
        return Cudart.cudaGetErrorName(code).getString(0);
    }

    /**
     * {@code cudaGetErrorString}, e.g. "invalid device ordinal".
     *
     * @param code a {@code cudaError_t}
     * @return its description
     */
    public static String errorString(int code) {
        library();
        return Cudart.cudaGetErrorString(code).getString(0);
    }

    /**
     * {@code cudaGetLastError}: returns and clears the last error of this thread's runtime state.
     *
     * @return that {@code cudaError_t}; {@code cudaSuccess} (0) when there was none
     */
    public static int lastError() {
        library();
        return Cudart.cudaGetLastError();
    }

    /**
     * The current device's memory as {@code cudaMemGetInfo} reports it.
     *
     * @param freeBytes  bytes no allocation of any process holds
     * @param totalBytes the device's memory
     */
    public record MemoryInfo(long freeBytes, long totalBytes) {
    }

    /** {@return the current device's free and total memory (cudaMemGetInfo)} */
    public static MemoryInfo memoryInfo() {
        library();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment free = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment total = arena.allocate(ValueLayout.JAVA_LONG);
            check("cudaMemGetInfo", Cudart.cudaMemGetInfo(free, total));
            return new MemoryInfo(free.get(ValueLayout.JAVA_LONG, 0),
                    total.get(ValueLayout.JAVA_LONG, 0));
        }
    }

    /** {@return the number of CUDA devices this process can see (cudaGetDeviceCount)} */
    public static int deviceCount() {
        library();
        return OutParameter.intValue("cudaGetDeviceCount", CudaRuntime::check, Cudart::cudaGetDeviceCount);
    }

    /**
     * Makes {@code device} the calling thread's current device (cudaSetDevice).
     *
     * @param device a device ordinal, from 0 to {@link #deviceCount()} - 1
     * @throws CudaException if {@code device} is not a valid ordinal
     */
    public static void setDevice(int device) {
        library();
        check("cudaSetDevice", Cudart.cudaSetDevice(device));
    }

    /** {@return the calling thread's current device ordinal (cudaGetDevice)} */
    public static int currentDevice() {
        library();
        return OutParameter.intValue("cudaGetDevice", CudaRuntime::check, Cudart::cudaGetDevice);
    }

    /** Creates the primary context of the current device now (cudaFree(NULL)), as NVSHMEM requires. */
    public static void initContext() {
        library();
        check("cudaFree", Cudart.cudaFree(MemorySegment.NULL));
    }

    /** Blocks until all work queued on the current device has completed (cudaDeviceSynchronize). */
    public static void synchronizeDevice() {
        library();
        check("cudaDeviceSynchronize", Cudart.cudaDeviceSynchronize());
    }

    /** {@return the CUDA runtime version as 1000 * major + 10 * minor, e.g. 13000 for CUDA 13.0} */
    public static int runtimeVersion() {
        library();
        return OutParameter.intValue("cudaRuntimeGetVersion", CudaRuntime::check, Cudart::cudaRuntimeGetVersion);
    }

    /**
     * {@return the newest CUDA version the installed driver supports, encoded as {@link #runtimeVersion()};
     * 0 when no driver is installed}
     */
    public static int driverVersion() {
        library();
        return OutParameter.intValue("cudaDriverGetVersion", CudaRuntime::check, Cudart::cudaDriverGetVersion);
    }

    /**
     * {@code cudaDeviceGetAttribute}; {@code attribute} is a {@code cudaDevAttr*} constant.
     *
     * @param attribute a {@code cudaDevAttr*} value, e.g. {@code Cudart.cudaDevAttrMultiProcessorCount()}
     * @param device    a device ordinal
     * @return the attribute's value on {@code device}
     */
    public static int deviceAttribute(int attribute, int device) {
        library();
        return OutParameter.intValue("cudaDeviceGetAttribute", CudaRuntime::check,
                value -> Cudart.cudaDeviceGetAttribute(value, attribute, device));
    }

    /**
     * Compute capability as major * 10 + minor, e.g. 90 for an H100/H200.
     *
     * @param device a device ordinal
     * @return major * 10 + minor of {@code device}
     */
    public static int computeCapability(int device) {
        return deviceAttribute(Cudart.cudaDevAttrComputeCapabilityMajor(), device) * 10
                + deviceAttribute(Cudart.cudaDevAttrComputeCapabilityMinor(), device);
    }

    /**
     * {@return the number of streaming multiprocessors (SMs) of {@code device}}
     *
     * @param device a device ordinal
     */
    public static int multiprocessorCount(int device) {
        return deviceAttribute(Cudart.cudaDevAttrMultiProcessorCount(), device);
    }

    /**
     * Where an address lives ({@code cudaPointerGetAttributes}): its memory type and the device that
     * holds it.
     *
     * @param type   the kind of memory
     * @param device the device ordinal CUDA reports for the address
     */
    public record PointerInfo(MemoryType type, int device) {
    }

    /** {@code cudaMemoryType}. */
    public enum MemoryType {
        /** Memory CUDA does not know, e.g. ordinary pageable host memory. */
        UNREGISTERED,
        /** Page-locked host memory allocated or registered through CUDA. */
        HOST,
        /** Device memory. */
        DEVICE,
        /** Managed (unified) memory, migrated between host and devices. */
        MANAGED
    }

    /**
     * {@code cudaPointerGetAttributes}: an address CUDA does not know is {@link MemoryType#UNREGISTERED}.
     *
     * @param address any address, host or device
     * @return its memory type and device
     */
    public static PointerInfo pointerInfo(MemorySegment address) {
        library();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment attributes = org.streamfusion.bindings.cudart.cudaPointerAttributes.allocate(arena);
            check("cudaPointerGetAttributes", Cudart.cudaPointerGetAttributes(attributes, address));
            int type = org.streamfusion.bindings.cudart.cudaPointerAttributes.type(attributes);
            int device = org.streamfusion.bindings.cudart.cudaPointerAttributes.device(attributes);
            MemoryType t = type == Cudart.cudaMemoryTypeDevice() ? MemoryType.DEVICE
                    : type == Cudart.cudaMemoryTypeManaged() ? MemoryType.MANAGED
                    : type == Cudart.cudaMemoryTypeHost() ? MemoryType.HOST : MemoryType.UNREGISTERED;
            return new PointerInfo(t, device);
        }
    }

    /**
     * {@code cudaStreamGetDevice}: the device a stream belongs to.
     *
     * @param stream a raw {@code cudaStream_t}
     * @return the device ordinal
     */
    public static int streamDevice(MemorySegment stream) {
        library();
        return OutParameter.intValue("cudaStreamGetDevice", CudaRuntime::check,
                device -> Cudart.cudaStreamGetDevice(stream, device));
    }

    /**
     * Synchronous copy between any two segments of equal size (host or device; unified addressing
     * picks the direction). Host segments must be native (Arena-allocated), not heap arrays.
     *
     * @param dst the destination
     * @param src the source, of the same byte size
     * @throws InvalidArgumentException if the sizes differ or either segment is on the Java heap
     */
    public static void copy(MemorySegment dst, MemorySegment src) {
        checkCopy(dst, src);
        library();
        check("cudaMemcpy", Cudart.cudaMemcpy(dst, src, src.byteSize(), Cudart.cudaMemcpyDefault()));
    }

    /**
     * Asynchronous {@link #copy}: ordered on {@code stream}; host memory must stay alive until it runs.
     *
     * @param dst    the destination
     * @param src    the source, of the same byte size
     * @param stream the stream the copy is queued on
     * @throws InvalidArgumentException if the sizes differ or either segment is on the Java heap
     */
    public static void copyAsync(MemorySegment dst, MemorySegment src, CudaStream stream) {
        checkCopy(dst, src);
        library();
        check("cudaMemcpyAsync",
                Cudart.cudaMemcpyAsync(dst, src, src.byteSize(), Cudart.cudaMemcpyDefault(), stream.handle()));
    }

    private static void checkCopy(MemorySegment dst, MemorySegment src) {
        if (dst.byteSize() != src.byteSize()) {
            throw new InvalidArgumentException("copy size mismatch: dst " + dst.byteSize() + " bytes, src "
                    + src.byteSize() + " bytes");
        }
        if (!dst.isNative() || !src.isNative()) {
            throw new InvalidArgumentException("heap segments cannot be passed to CUDA; allocate host buffers from an Arena");
        }
    }
}
