package org.streamfusion.cuda;

import org.streamfusion.StreamFusionException;

/**
 * A native call returned an error code. Carries the call name, the numeric code and the library's
 * own text for it, so that a log line alone is enough to tell what failed.
 */
public abstract sealed class NativeCallException extends StreamFusionException
        permits CudaException, NcclException, NvshmemException {
    private static final long serialVersionUID = 1L;

    /** The native function that failed. */
    private final String call;
    /** The status code it returned. */
    private final int code;
    /** The library's text for the code. */
    private final String nativeMessage;

    NativeCallException(String message, String call, int code, String nativeMessage) {
        super(message);
        this.call = call;
        this.code = code;
        this.nativeMessage = nativeMessage;
    }

    /** {@return the native function that failed, e.g. {@code cudaMalloc}} */
    public String call() {
        return call;
    }

    /** {@return the status code it returned} */
    public int code() {
        return code;
    }

    /** {@return the library's text for the code (and any extra detail it gave)} */
    public String nativeMessage() {
        return nativeMessage;
    }
}
