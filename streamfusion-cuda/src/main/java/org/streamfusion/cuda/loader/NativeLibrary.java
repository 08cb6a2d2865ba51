package org.streamfusion.cuda.loader;

import java.util.List;
import java.util.Locale;

/**
 * The native libraries StreamFusion-J loads, in loading order. Each can be pinned to a file with a
 * system property {@code streamfusion.<key>.path} or an environment variable
 * {@code STREAMFUSION_<KEY>_PATH} (the property wins).
 */
public enum NativeLibrary {
    /** CUDA runtime 13. */
    CUDART("CUDA runtime (libcudart)", "cudart", List.of("libcudart.so.13", "libcudart.so"), List.of()),
    /** NCCL 2.x (built against 2.30 headers, calls only what 2.28 exports). */
    NCCL("NCCL (libnccl)", "nccl", List.of("libnccl.so.2", "libnccl.so"), List.of(CUDART)),
    /** NVSHMEM 3 host library. */
    NVSHMEM("NVSHMEM host library (libnvshmem_host)", "nvshmem", List.of("libnvshmem_host.so.3"), List.of(CUDART)),
    /** The project's own kernels (built from csrc/, packaged in the platform jar). */
    STREAMFUSION("StreamFusion kernels (libstreamfusion)", "streamfusion", List.of("libstreamfusion.so"), List.of(CUDART));

    private final String displayName;
    private final String key;
    private final List<String> sonames;
    private final List<NativeLibrary> prerequisites;

    NativeLibrary(String displayName, String key, List<String> sonames, List<NativeLibrary> prerequisites) {
        this.displayName = displayName;
        this.key = key;
        this.sonames = sonames;
        this.prerequisites = prerequisites;
    }

    /** {@return the human-readable name used in messages, e.g. "CUDA runtime (libcudart)"} */
    public String displayName() {
        return displayName;
    }

    /** {@return the short key, e.g. {@code cudart}} */
    public String key() {
        return key;
    }

    /** {@return the names handed to the dynamic linker's own search (LD_LIBRARY_PATH, ld.so.cache, ...)} */
    public List<String> sonames() {
        return sonames;
    }

    /** {@return the libraries that are loaded before this one} */
    public List<NativeLibrary> prerequisites() {
        return prerequisites;
    }

    /** {@return the system property that pins the file, {@code streamfusion.<key>.path}} */
    public String propertyName() {
        return "streamfusion." + key + ".path";
    }

    /** {@return the environment variable that pins the file, {@code STREAMFUSION_<KEY>_PATH}} */
    public String environmentVariable() {
        return "STREAMFUSION_" + key.toUpperCase(Locale.ROOT) + "_PATH";
    }
}
