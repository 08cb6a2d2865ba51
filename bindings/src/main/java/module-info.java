/**
 * jextract output for the CUDA runtime subset, NCCL, the NVSHMEM host API and libstreamfusion's C ABI and
 * the DLPack exchange structs.
 * Never edited by hand (bindings/README.md has the command lines). Only the native layer may read it.
 */
@SuppressWarnings("module") // org.streamfusion.cuda is built after it
module org.streamfusion.bindings {
    exports org.streamfusion.bindings.cudart to org.streamfusion.cuda;
    exports org.streamfusion.bindings.nccl to org.streamfusion.cuda;
    exports org.streamfusion.bindings.nvshmem to org.streamfusion.cuda;
    exports org.streamfusion.bindings.sf to org.streamfusion.cuda;
    exports org.streamfusion.bindings.dlpack to org.streamfusion.cuda;
}
