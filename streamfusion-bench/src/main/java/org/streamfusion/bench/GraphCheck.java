package org.streamfusion.bench;

import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.LongStream;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordingFile;
import org.streamfusion.AttentionShape;
import org.streamfusion.CapturedLayer;
import org.streamfusion.DType;
import org.streamfusion.DistributedAttention;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.cuda.CudaGraph;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.gpu.CudaRankDevice;
import org.streamfusion.gpu.GpuOptions;
import org.streamfusion.gpu.HostTransfer;
import org.streamfusion.launch.DistributedEnvironment;
import org.streamfusion.planning.Planner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * One rank of a GPU job (docs/graphs.md): for every method on every valid mesh, a layer captured as a CUDA
 * graph and replayed gives the eager layer's output bit for bit, and so does a caller's own graph captured
 * around {@code forward} on its stream in the strictest capture mode; then eager and replayed layer times
 * (CUDA events over bursts of consecutive layers), host time per call, and device memory, process resident
 * memory and thread count before and after {@code --replays} replays and as many eager layers
 * ({@code streamfusion check graphs}). On an in-process world ({@code launch --one-gpu}) every rank's layer is part of
 * the world's one graph, and the caller's own graph around {@code forward} is skipped ({@link #WORLD_SKIP}).
 */
@Command(name = "graphs", description = "Layers captured as CUDA graphs: bit-identical replays, times, flat memory.")
final class GraphCheck implements Callable<Integer> {
    /** Consecutive layers per timed burst: a DiT runs its layers back to back. */
    private static final int BURST = 20;
    /** Growth of resident memory outside the JVM's pools that still counts as flat (GC and JIT bookkeeping). */
    static final long RSS_SLACK_KIB = 16 * 1024;
    /**
     * Resident memory outside the heap is judged only when the heap is fixed and pre-touched (-Xms = -Xmx,
     * -XX:+AlwaysPreTouch): otherwise heap pages first touched during a window read as growth.
     */
    static final boolean PRETOUCHED_HEAP = ManagementFactory.getRuntimeMXBean()
            .getInputArguments().contains("-XX:+AlwaysPreTouch");
    /** Growth of the JVM's native memory that still counts as flat. */
    private static final long NATIVE_SLACK_BYTES = 64 * 1024;

    @Mixin
    LayerOptions layer = new LayerOptions("1xN", 4608, 24, 128, 20);

    @Option(names = "--replays", paramLabel = "COUNT",
            description = "layers per flatness window, at least 0 (default: ${DEFAULT-VALUE})")
    int replays = 10_000;

    @Spec
    CommandSpec command;

    /**
     * Runs this rank; prints a table and PASS or FAIL.
     *
     * @return 0 on PASS, 1 on FAIL
     * @throws IOException if the resident set's recording cannot be written or read
     */
    @Override
    public Integer call() throws IOException {
        int reps = layer.reps(); // usage errors before joining a job
        if (replays < 0) {
            throw new ParameterException(command.commandLine(), "--replays " + replays + " must be at least 0");
        }
        DistributedEnvironment env = RankContext.environment();
        Topology topo = layer.topology(env.worldSize());
        AttentionShape shape = layer.shape();
        int h = shape.heads();
        int d = shape.headDim();
        int rank = env.rank();
        int n = topo.worldSize();
        int sl = shape.shardRows(n, rank);
        List<String> failures = new ArrayList<>();
        List<String> rows = new ArrayList<>();
        try (CudaRankDevice dev = RankContext.join(env, topo, GpuOptions.defaults().withPoison(true));
                DeviceArena io = dev.newArena();
                CudaStream mine = CudaStream.create()) {
            float[][] local = GpuCheck.inputs(AttentionShape.of(1, sl, h, d, DType.BF16), 20261202L + 31L * rank);
            TensorView[] x = new TensorView[4];
            for (int i = 0; i < 4; i++) {
                Buffer b = io.allocate((long) sl * h * d, DType.BF16);
                if (i < 3) {
                    HostTransfer.upload(b, local[i]);
                }
                x[i] = TensorView.contiguous(b, 1, sl, h, d);
            }
            Stream callerStream = dev.wrapStream(mine.handle());
            List<Plan> plans = Planner.withDefaults().enumerate(shape, topo).stream().filter(Planner.Candidate::valid)
                    .map(Planner.Candidate::plan).toList();
            for (Plan plan : plans) {
                try (DistributedAttention attn = DistributedAttention.create(plan, dev)) {
                    HostTransfer.poison(x[3].base());
                    attn.forward(x[0], x[1], x[2], x[3]);
                    attn.stream().synchronize(plan + " eager layer");
                    float[] eager = HostTransfer.download(x[3].base());
                    CapturedLayer captured = attn.capture(x[0], x[1], x[2], x[3]);
                    attn.stream().synchronize(plan + " capture");
                    HostTransfer.poison(x[3].base());
                    captured.replay();
                    attn.stream().synchronize(plan + " replay");
                    String replayed = differs(eager, HostTransfer.download(x[3].base()));
                    if (captured.replayMode() != CapturedLayer.Mode.GRAPH) {
                        failures.add(plan + " was not captured: " + captured.replayReason());
                    } else if (replayed != null) {
                        failures.add(plan + ": the replay differs from the eager layer " + replayed);
                    }
                    // A caller's own graph around forward, in the strictest mode: forward must be capture-safe.
                    String around;
                    if (dev.inProcessWorld()) {
                        around = "skipped";
                        if (!aroundSkipNoted) {
                            aroundSkipNoted = true;
                            System.out.println("caller's graph around forward: skipped on an in-process world: "
                                    + WORLD_SKIP);
                        }
                    } else {
                        around = aroundForward(attn, x, mine, callerStream, eager, plan, failures);
                    }
                    Burst eagerTime = time(attn.stream(), () -> attn.forward(x[0], x[1], x[2], x[3]), reps);
                    Burst graphTime = time(attn.stream(), captured::replay, reps);
                    Flatness eagerFlat = flatness(attn.stream(), () -> attn.forward(x[0], x[1], x[2], x[3]), replays);
                    Flatness graphFlat = flatness(attn.stream(), captured::replay, replays);
                    // On a world the process's memory and threads are every rank's, measured while peers run
                    // other plans: printed, not judged (OneGpuWorldFlatnessGpuTest measures with all ranks quiet).
                    for (Flatness f : dev.inProcessWorld() ? List.<Flatness>of() : List.of(eagerFlat, graphFlat)) {
                        if (!f.flat()) {
                            failures.add(plan + ": not flat over " + replays + " layers: " + f);
                        }
                    }
                    rows.add(String.format(Locale.ROOT,
                            "%-36s %-5s %9s %8.4f %8.4f %6.2f %8.1f %8.1f %6.2f%%  %s | %s | %s",
                            plan.mesh(), captured.replayMode(), replayed == null ? "identical" : "DIFFERS",
                            eagerTime.layerMs(), graphTime.layerMs(), eagerTime.layerMs() / graphTime.layerMs(),
                            eagerTime.hostUs(), graphTime.hostUs(),
                            100 * graphTime.hostUs() / (1e3 * graphTime.layerMs()),
                            around, eagerFlat, graphFlat));
                }
            }
            System.out.printf(Locale.ROOT, "rank %d of %d on GPU %d: %s, %s; layer ms = CUDA events over bursts of %d"
                    + " consecutive layers / %d, median of %d bursts; host us = median wall time of one forward or"
                    + " replay call; flatness over %d layers each after a tenth as many (the first: as many);"
                    + " rss-jvm: resident memory outside the JVM's pools, %s%n", rank, n,
                    dev.cudaDevice(), topo, shape, BURST, BURST, reps, replays, dev.inProcessWorld()
                            ? "not judged, nor the rest of the flatness: on an in-process world the process is every"
                                    + " rank's and the peers run other plans meanwhile"
                            : PRETOUCHED_HEAP ? "judged: the heap is pre-touched"
                            : "not judged: run with -XX:+AlwaysPreTouch to judge it");
            System.out.printf(Locale.ROOT, "%-36s %-5s %9s %8s %8s %6s %8s %8s %7s  %s%n", "method (mesh)", "mode",
                    "replay", "eager ms", "graph ms", "x", "host us", "host us", "host %", "caller's graph around forward"
                            + " | eager flatness | graph flatness");
            System.out.printf(Locale.ROOT, "%-36s %-5s %9s %8s %8s %6s %8s %8s %7s%n", "", "", "", "", "", "", "eager",
                    "replay", "of lyr");
            rows.forEach(System.out::println);
        }
        failures.forEach(f -> System.out.println("FAILED: " + f));
        System.out.println((failures.isEmpty() ? "PASS" : "FAIL") + " rank " + rank);
        return failures.isEmpty() ? 0 : 1;
    }

    /**
     * Why a caller's own graph around {@code forward} is not checked on an in-process world: each rank would capture
     * its own graph on its own thread, and a rank's layer waits for events its peers record in their captures, which
     * CUDA refuses (and a GLOBAL capture holds every other rank's thread to capture-safe calls). The world's captured
     * layer is one graph for all ranks (docs/one-gpu-world.md).
     */
    static final String WORLD_SKIP = "each rank's own capture would wait for events recorded in its peers' captures,"
            + " which CUDA refuses; the world's captured layer (one graph for every rank) is checked above";

    /** Whether the skipped step was noted (once per rank). */
    private boolean aroundSkipNoted;

    /** A caller's own graph around forward on {@code mine}, in GLOBAL mode: its table cell, failures added. */
    private static String aroundForward(DistributedAttention attn, TensorView[] x, CudaStream mine, Stream callerStream,
            float[] eager, Plan plan, List<String> failures) {
        HostTransfer.poison(x[3].base());
        try (CudaGraph graph = CudaGraph.capture(mine, CudaGraph.CaptureMode.GLOBAL,
                st -> attn.forward(x[0], x[1], x[2], x[3], callerStream))) {
            graph.launch(mine);
            callerStream.synchronize(plan + " caller's graph"); // bounded, naming rank and step
            String around = differs(eager, HostTransfer.download(x[3].base()));
            if (around != null) {
                failures.add(plan + ": the caller's graph around forward differs " + around);
            }
            return around == null ? graph.nodes() + " nodes, bit-identical" : "DIFFERS";
        } catch (RuntimeException e) {
            failures.add(plan + ": a caller's capture around forward failed: " + e.getMessage());
            return "FAILED";
        }
    }

    /** {@code null} when equal bit for bit; otherwise where the first difference is. */
    static String differs(float[] expected, float[] actual) {
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                return "at element " + i + ": " + expected[i] + " vs " + actual[i];
            }
        }
        return null;
    }

    /** Per-layer device time and per-call host time. */
    record Burst(double layerMs, double hostUs) {
    }

    /** Median over {@code reps} bursts of {@link #BURST} consecutive layers, after one untimed burst. */
    static Burst time(Stream stream, Runnable layer, int reps) {
        for (int i = 0; i < BURST; i++) {
            layer.run();
        }
        stream.synchronize("warm-up burst");
        float[] ms = new float[reps];
        long[] hostNs = new long[reps * BURST];
        for (int r = 0; r < reps; r++) {
            int base = r * BURST;
            ms[r] = HostTransfer.time(stream, () -> {
                for (int i = 0; i < BURST; i++) {
                    long t0 = System.nanoTime();
                    layer.run();
                    hostNs[base + i] = System.nanoTime() - t0;
                }
            }) / BURST;
        }
        return new Burst(LayerTiming.Timing.of(ms).medianMs(), LayerTiming.median(LongStream.of(hostNs).asDoubleStream().toArray()) / 1e3);
    }

    /**
     * What {@code layers} layers left behind, measured after a warm-up window of a tenth as many, or as many
     * the first time in the process (the JIT's compiler threads and its native arenas settle there): device
     * memory in use (cudaMemGetInfo), the JVM's native memory (the direct pool, which counts every Arena
     * allocation of the FFM API), resident memory outside the JVM's own pools (what CUDA, NCCL and NVSHMEM
     * allocate on the host; the resident set from the JVM's own {@code jdk.ResidentSetSize} Flight Recorder event),
     * and live Java threads.
     */
    private record Flatness(long deviceBytes, long nativeBytes, long residentOutsideJvmKib, int javaThreads) {
        boolean flat() {
            return deviceBytes == 0 && Math.abs(nativeBytes) <= NATIVE_SLACK_BYTES && javaThreads == 0
                    && (!PRETOUCHED_HEAP || residentOutsideJvmKib <= RSS_SLACK_KIB);
        }

        /** The change from {@code before} to this, both being {@link #usage()} figures. */
        Flatness since(Flatness before) {
            return new Flatness(deviceBytes - before.deviceBytes, nativeBytes - before.nativeBytes,
                    residentOutsideJvmKib - before.residentOutsideJvmKib, javaThreads - before.javaThreads);
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "device %+d B, native %+d B, rss-jvm %+d KiB, java threads %+d",
                    deviceBytes, nativeBytes, residentOutsideJvmKib, javaThreads);
        }
    }

    /** Whether the process has had its first, longer warm-up window (the JIT's own native memory grows there). */
    private static boolean warm;

    private static Flatness flatness(Stream stream, Runnable layer, int layers) throws IOException {
        run(stream, layer, warm ? layers / 10 : layers);
        warm = true;
        Flatness before = usage();
        run(stream, layer, layers);
        return usage().since(before);
    }

    /** What the process holds now, in {@link Flatness}'s terms (a flatness is the difference of two). */
    private static Flatness usage() throws IOException {
        CudaRuntime.MemoryInfo device = CudaRuntime.memoryInfo();
        long nativeBytes = ManagementFactory.getPlatformMXBeans(
                BufferPoolMXBean.class).stream().filter(p -> p.getName().equals("direct"))
                .mapToLong(BufferPoolMXBean::getMemoryUsed).sum(); // every FFM Arena allocation
        return new Flatness(device.totalBytes() - device.freeBytes(), nativeBytes, residentOutsideJvmKib(),
                ManagementFactory.getThreadMXBean().getThreadCount());
    }

    /** KiB resident outside the JVM's own pools (heap, code cache, metaspace: what the JIT and class loading grow). */
    static long residentOutsideJvmKib() throws IOException {
        long jvmPoolsKib = ManagementFactory.getMemoryPoolMXBeans().stream()
                .mapToLong(p -> p.getUsage().getCommitted()).sum() / 1024;
        return residentBytes() / 1024 - jvmPoolsKib;
    }

    /** The process's resident set, from the JVM's {@code jdk.ResidentSetSize} event (a recording of one chunk). */
    private static long residentBytes() throws IOException {
        try (Recording recording = new Recording()) {
            recording.enable("jdk.ResidentSetSize").with("period", "everyChunk");
            recording.start();
            recording.stop();
            Path file = Files.createTempFile("resident-set", ".jfr");
            try {
                recording.dump(file);
                return RecordingFile.readAllEvents(file).stream()
                        .filter(e -> e.getEventType().getName().equals("jdk.ResidentSetSize"))
                        .mapToLong(e -> e.getLong("size")).reduce((first, last) -> last)
                        .orElseThrow(() -> new IOException("the recording holds no jdk.ResidentSetSize event"));
            } finally {
                Files.delete(file);
            }
        }
    }

    /** {@code layers} layers, synchronised every 500 as a service's steps would be. */
    private static void run(Stream stream, Runnable layer, int layers) {
        for (int i = 0; i < layers; i++) {
            layer.run();
            if (i % 500 == 499) {
                stream.synchronize("flatness window, layer " + (i + 1));
            }
        }
        stream.synchronize("end of a flatness window");
    }
}
