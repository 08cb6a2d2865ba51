package org.streamfusion.cuda;

/** An NCCL call returned something other than {@code ncclSuccess}. */
public final class NcclException extends NativeCallException {
    private static final long serialVersionUID = 1L;

    /** NCCL's detail for the failure; empty when it gave none. */
    private final String lastError;

    /**
     * An exception whose message names the call, the error text and code, and NCCL's last error if any.
     *
     * @param call        the NCCL function, e.g. {@code ncclCommInitRank}
     * @param code        its {@code ncclResult_t}
     * @param errorString {@code ncclGetErrorString(code)}
     * @param lastError   {@code ncclGetLastError(comm)}: NCCL's detail for the last failure; may be empty
     */
    public NcclException(String call, int code, String errorString, String lastError) {
        super(call + " failed: " + errorString + " (ncclResult_t " + code + ")"
                + (lastError == null || lastError.isBlank() ? "" : "; last error: " + lastError),
              call, code, errorString);
        this.lastError = lastError == null ? "" : lastError;
    }

    /** {@return NCCL's own description of the last failure ({@code ncclGetLastError}), possibly empty} */
    public String lastError() {
        return lastError;
    }
}
