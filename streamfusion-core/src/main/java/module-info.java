/**
 * StreamFusion-J: one exact attention layer spread over many GPUs and machines. Pure Java: it requires
 * no native module; the CUDA backend is {@code org.streamfusion.cuda}, a module of its own.
 *
 * <p>The API: plans ({@code org.streamfusion}: topology, shape, method, mesh, plan, the attention interface
 * and the exceptions), the planner and its cost model ({@code planning}), the few backend types a caller
 * holds ({@code backend}: buffers, tensor views, streams, events, arenas, the rank device), the CPU
 * backend's entry points ({@code cpu}: in-process ranks), the job's environment ({@code launch}) and the
 * same schedules on virtual time ({@code sim}). The schedules are not exported; what they run on
 * ({@code spi}: the backend contract, communicator, kernels, chunk layouts) is exported only to the CUDA
 * backend and the benchmarks.
 */
@SuppressWarnings("module") // the modules it exports to are built after this one
module org.streamfusion {
    requires jdk.jfr; // one Flight Recorder event per layer (org.streamfusion.Layer)
    requires jdk.incubator.vector; // the CPU attention tiles (org.streamfusion.cpu); a scalar fallback without it

    exports org.streamfusion;
    exports org.streamfusion.backend;
    exports org.streamfusion.cpu;
    exports org.streamfusion.launch;
    exports org.streamfusion.planning;
    exports org.streamfusion.sim;
    exports org.streamfusion.spi to org.streamfusion.cuda, org.streamfusion.bench;
}
