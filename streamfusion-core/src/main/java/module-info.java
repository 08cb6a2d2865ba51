/**
 * StreamFusion-J: one exact attention layer spread over many GPUs and machines.
 *
 * <p>The API: plans ({@code org.streamfusion}: topology, shape, method, mesh, plan, planner, cost model,
 * the attention interface and the exceptions), the few backend types a caller holds
 * ({@code org.streamfusion.backend}: buffers, tensor views, streams, events, arenas, the rank device), and
 * the two backends' entry points ({@code cpu}: in-process ranks; {@code gpu}: one CUDA rank per process;
 * {@code launch}: the job's environment; {@code sim}: the same schedules on virtual time). The schedules
 * are not exported; what they run on
 * ({@code org.streamfusion.spi}: communicator, kernels, chunk layouts) is exported only to the benchmarks.
 */
@SuppressWarnings("module") // the benchmarks module is built after this one
module org.streamfusion {
    requires transitive org.streamfusion.cuda;
    requires jdk.jfr; // one Flight Recorder event per layer (org.streamfusion.Layer)
    requires jdk.incubator.vector; // the CPU attention tiles (org.streamfusion.cpu); a scalar fallback without it

    exports org.streamfusion;
    exports org.streamfusion.backend;
    exports org.streamfusion.cpu;
    exports org.streamfusion.gpu;
    exports org.streamfusion.launch;
    exports org.streamfusion.sim;
    exports org.streamfusion.spi to org.streamfusion.bench;
}
