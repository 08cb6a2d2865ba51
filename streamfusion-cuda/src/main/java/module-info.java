/**
 * The CUDA backend: one CUDA rank per process ({@code org.streamfusion.gpu}), over the native layer:
 * library loading, and AutoCloseable handles over the CUDA runtime, NCCL, NVSHMEM and libstreamfusion,
 * whose failures are typed exceptions carrying the native error strings. The only module that reads the
 * raw bindings. Its backend entry points ({@code gpu}), exceptions and basic handles
 * ({@code org.streamfusion.cuda}) and library loading with its overrides ({@code loader}) are public; the
 * communication and kernel wrappers are for the library's own modules.
 */
@SuppressWarnings("module") // the modules it exports to are built after it
module org.streamfusion.cuda {
    requires transitive org.streamfusion;
    requires org.streamfusion.bindings;

    exports org.streamfusion.gpu;
    exports org.streamfusion.cuda;
    exports org.streamfusion.cuda.loader;
    exports org.streamfusion.cuda.sf to org.streamfusion.bench;
}
