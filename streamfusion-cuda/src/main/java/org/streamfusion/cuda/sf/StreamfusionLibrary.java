package org.streamfusion.cuda.sf;

import org.streamfusion.InvalidArgumentException;
import org.streamfusion.InvalidStateException;
import org.streamfusion.bindings.sf.Streamfusion;
import org.streamfusion.cuda.CudaException;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.cuda.loader.LoadedLibrary;
import org.streamfusion.cuda.loader.NativeLibrary;
import org.streamfusion.cuda.loader.NativeLoader;

/**
 * libstreamfusion (csrc/): loading, ABI check and status translation. The kernels themselves are
 * called through {@code org.streamfusion.bindings.sf.Streamfusion} after {@link #load()}.
 */
public final class StreamfusionLibrary {
    private StreamfusionLibrary() {
    }

    /**
     * Loads libstreamfusion (the copy in the platform jar unless overridden) and checks that its
     * sf_abi_version() is the SF_ABI_VERSION the bindings were generated from.
     */
    public static LoadedLibrary load() {
        LoadedLibrary lib = NativeLoader.global().load(NativeLibrary.STREAMFUSION);
        int abi = Streamfusion.sf_abi_version();
        if (abi != Streamfusion.SF_ABI_VERSION()) {
            throw new InvalidStateException(lib.path() + " has ABI version " + abi + ", the bindings expect "
                    + Streamfusion.SF_ABI_VERSION() + ": regenerate bindings (bindings/jextract/generate.sh sf) or rebuild csrc");
        }
        return lib;
    }

    /**
     * Throws for a non-zero sf_* status: positive values are cudaError_t (a {@link CudaException}
     * whose text is sf_last_error_message), negative ones are argument errors
     * ({@link InvalidArgumentException} with sf_status_string and the message).
     */
    public static void check(String call, int status) {
        if (status == Streamfusion.SF_OK()) {
            return;
        }
        String detail = Streamfusion.sf_last_error_message().getString(0);
        if (status > 0) {
            throw new CudaException(call, status, CudaRuntime.errorName(status), detail);
        }
        throw new InvalidArgumentException(call + " rejected its arguments: "
                + Streamfusion.sf_status_string(status).getString(0) + " (" + status + "): " + detail);
    }
}
