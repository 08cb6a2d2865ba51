/**
 * The native layer: library loading, and AutoCloseable handles over the CUDA runtime, NCCL, NVSHMEM and
 * libstreamfusion, whose failures are typed exceptions carrying the native error strings. The only
 * module that reads the raw bindings. Its exceptions, basic handles ({@code org.streamfusion.cuda}) and
 * library loading with its overrides ({@code loader}) are public; the communication and kernel wrappers
 * are for the library's own modules.
 */
@SuppressWarnings("module") // the modules it exports to are built after it
module org.streamfusion.cuda {
    requires org.streamfusion.bindings;

    exports org.streamfusion.cuda;
    exports org.streamfusion.cuda.loader;
    exports org.streamfusion.cuda.nccl to org.streamfusion, org.streamfusion.bench;
    exports org.streamfusion.cuda.nvshmem to org.streamfusion, org.streamfusion.bench;
    exports org.streamfusion.cuda.sf to org.streamfusion, org.streamfusion.bench;
}
