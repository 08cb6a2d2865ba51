package org.streamfusion.cuda;

/**
 * An NVSHMEM host call failed. NVSHMEM has no error-string function, so the text comes from the
 * {@code nvshmemx_status} table (or the check that failed, e.g. an init status that is not 2).
 */
public final class NvshmemException extends NativeCallException {
    private static final long serialVersionUID = 1L;

    /**
     * An exception whose message names the call, the detail and the status.
     *
     * @param call   the NVSHMEM function, e.g. {@code nvshmem_malloc}
     * @param code   its status, e.g. an {@code nvshmemx_status} value
     * @param detail what went wrong, e.g. {@link #statusName statusName(code)}
     */
    public NvshmemException(String call, int code, String detail) {
        super(call + " failed: " + detail + " (status " + code + ")", call, code, detail);
    }

    /**
     * Symbolic name of an {@code nvshmemx_status} value (NVSHMEM 3.4 numbering).
     *
     * @param code the status
     * @return its name, e.g. {@code NVSHMEMX_ERROR_INTERNAL}; {@code unknown NVSHMEM status} if unknown
     */
    public static String statusName(int code) {
        return switch (code) {
            case 0 -> "NVSHMEMX_SUCCESS";
            case 1 -> "NVSHMEMX_ERROR_INVALID_VALUE";
            case 2 -> "NVSHMEMX_ERROR_OUT_OF_MEMORY";
            case 3 -> "NVSHMEMX_ERROR_NOT_SUPPORTED";
            case 4 -> "NVSHMEMX_ERROR_SYMMETRY";
            case 5 -> "NVSHMEMX_ERROR_GPU_NOT_SELECTED";
            case 6 -> "NVSHMEMX_ERROR_COLLECTIVE_LAUNCH_FAILED";
            case 7 -> "NVSHMEMX_ERROR_INTERNAL";
            default -> "unknown NVSHMEM status";
        };
    }
}
