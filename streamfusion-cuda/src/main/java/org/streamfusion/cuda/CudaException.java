package org.streamfusion.cuda;

/** A CUDA runtime call returned something other than {@code cudaSuccess}. */
public final class CudaException extends NativeCallException {
    private static final long serialVersionUID = 1L;

    /** {@code cudaGetErrorName(code)}. */
    private final String errorName;

    /**
     * An exception whose message names the call, the error's name and code, and its text.
     *
     * @param call        the runtime function, e.g. {@code cudaMalloc}
     * @param code        its {@code cudaError_t}
     * @param errorName   {@code cudaGetErrorName(code)}, e.g. {@code cudaErrorMemoryAllocation}
     * @param errorString {@code cudaGetErrorString(code)}, e.g. {@code out of memory}
     */
    public CudaException(String call, int code, String errorName, String errorString) {
        super(call + " failed: " + errorName + " (" + code + "): " + errorString, call, code, errorString);
        this.errorName = errorName;
    }

    /** {@return the symbolic name of the error, from {@code cudaGetErrorName}} */
    public String errorName() {
        return errorName;
    }
}
