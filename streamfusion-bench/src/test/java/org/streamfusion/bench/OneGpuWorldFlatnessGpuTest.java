package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.DistributedAttention;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.TensorView;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.gpu.CudaWorld;
import org.streamfusion.gpu.GpuOptions;
import org.streamfusion.gpu.HostTransfer;
import org.streamfusion.planning.Planner;

/**
 * 10,000 layers on a 2x2 world on one GPU, each rank's layer kept across calls as a service keeps it, leave
 * the process where they found it: device memory, the JVM's native memory, threads and heap. The world's four
 * ranks share the process, so the figures are read on the test thread while every rank is quiescent (its
 * stream synchronised, its {@code run} returned), after a warm-up window of the same layers. The one-process
 * twin is {@code check graphs}' flatness ({@code GraphCheck}).
 */
@Tag("gpu")
class OneGpuWorldFlatnessGpuTest {
    static final Topology TOPOLOGY = Topology.of(2, 2);
    /** 256 rows per rank: a layer is a few hundred microseconds of host and device work per rank. */
    static final AttentionShape SHAPE = AttentionShape.of(1, 1024, 8, 128, DType.BF16);
    static final int WARM_UP = 1_000;
    static final int LAYERS = 10_000;
    /** Synchronise every 500 layers, as a service's steps would. */
    static final int SYNC_EVERY = 500;
    /** GraphCheck's slack for the JVM's native memory: the direct pool counts every FFM Arena allocation. */
    static final long NATIVE_SLACK_BYTES = 64 * 1024;
    /**
     * Live heap after full collections: the smallest of three readings, so an allocation of another thread
     * between two of them does not count. 1 MiB is below a retained 32-byte object per forward call (4 ranks x
     * 10,000 calls = 1.2 MiB) and well above the live set's drift between two readings in an idle JVM.
     */
    static final long HEAP_SLACK_BYTES = 1 << 20;

    /** USP (two-sided all-to-all and ring) and STREAMFUSION (one-sided, symmetric blocks), each its planner's mesh. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Method.class, names = {"USP", "STREAMFUSION"})
    void tenThousandKeptLayersOnA2x2WorldLeaveDeviceNativeThreadsAndHeapFlat(Method method) throws IOException {
        assumeTrue(CudaRuntime.isAvailable(), "no GPU");
        Plan plan = Planner.withDefaults().enumerate(SHAPE, TOPOLOGY, method).stream().filter(Planner.Candidate::valid)
                .findFirst().orElseThrow().plan();
        int n = TOPOLOGY.worldSize();
        DeviceArena[] arenas = new DeviceArena[n];
        DistributedAttention[] layers = new DistributedAttention[n];
        TensorView[][] tensors = new TensorView[n][];
        try (CudaWorld world = CudaWorld.create(TOPOLOGY, 0, GpuOptions.defaults())) {
            // Each rank's layer and tensors are made once and kept: run's later bodies on the same rank's thread use them.
            world.run(dev -> {
                int g = dev.rank();
                arenas[g] = dev.newArena();
                float[][] in = GpuCheck.inputs(AttentionShape.of(1, plan.shardRows(g), SHAPE.heads(), SHAPE.headDim()),
                        20261207L + 31L * g);
                tensors[g] = new TensorView[4];
                for (int i = 0; i < 4; i++) {
                    Buffer b = arenas[g].allocate((long) plan.shardRows(g) * SHAPE.heads() * SHAPE.headDim(), DType.BF16);
                    if (i < 3) {
                        HostTransfer.upload(b, in[i]);
                    }
                    tensors[g][i] = TensorView.contiguous(b, 1, plan.shardRows(g), SHAPE.heads(), SHAPE.headDim());
                }
                layers[g] = DistributedAttention.create(plan, dev);
                return null;
            });
            layers(world, layers, tensors, WARM_UP);
            usage(); // the management beans' first use allocates; not part of the window
            Usage before = usage();
            long start = System.nanoTime();
            layers(world, layers, tensors, LAYERS);
            double seconds = (System.nanoTime() - start) / 1e9;
            Usage after = usage();
            world.run(dev -> {
                layers[dev.rank()].close();
                arenas[dev.rank()].close();
                return null;
            });
            Set<String> newThreads = new HashSet<>(after.threads());
            newThreads.removeAll(before.threads());
            System.out.printf(Locale.ROOT, "%s, %s: %,d layers on every rank in %.1f s (%.3f ms a layer, %d ranks on one"
                    + " GPU, after %,d warm-up layers): device %+d B, native (direct pool) %+d B, heap after GC %+d KiB,"
                    + " java threads %d -> %d (new: %s), resident memory outside the JVM's pools %+d KiB (%s)%n", plan.mesh(), SHAPE, LAYERS, seconds, 1e3 * seconds / LAYERS, n, WARM_UP,
                    after.deviceBytes() - before.deviceBytes(), after.nativeBytes() - before.nativeBytes(),
                    (after.heapBytes() - before.heapBytes()) / 1024, before.threads().size(), after.threads().size(),
                    newThreads, after.residentKib() - before.residentKib(), GraphCheck.PRETOUCHED_HEAP
                            ? "judged: the heap is pre-touched" : "not judged: run with -XX:+AlwaysPreTouch to judge it");
            String where = plan.mesh() + " over " + LAYERS + " layers: ";
            assertEquals(before.deviceBytes(), after.deviceBytes(), where + "device memory in use (cudaMemGetInfo)");
            assertTrue(Math.abs(after.nativeBytes() - before.nativeBytes()) <= NATIVE_SLACK_BYTES,
                    where + "the direct pool went from " + before.nativeBytes() + " to " + after.nativeBytes() + " bytes");
            assertTrue(newThreads.isEmpty() && after.threads().size() <= before.threads().size(),
                    where + "threads " + before.threads() + " -> " + after.threads());
            assertTrue(after.heapBytes() - before.heapBytes() <= HEAP_SLACK_BYTES,
                    where + "live heap went from " + before.heapBytes() + " to " + after.heapBytes() + " bytes");
            // What CUDA and the transports hold on the host; heap pages touched for the first time would read as
            // growth, so it is judged only with the heap fixed and pre-touched (as check graphs does).
            assertTrue(!GraphCheck.PRETOUCHED_HEAP || after.residentKib() - before.residentKib() <= GraphCheck.RSS_SLACK_KIB,
                    where + "resident memory outside the JVM's pools went from " + before.residentKib() + " to "
                            + after.residentKib() + " KiB");
        }
    }

    /** {@code count} layers on every rank on its kept layer, synchronised every {@link #SYNC_EVERY} and at the end. */
    private static void layers(CudaWorld world, DistributedAttention[] layers, TensorView[][] tensors, int count) {
        world.run(dev -> {
            DistributedAttention attn = layers[dev.rank()];
            TensorView[] x = tensors[dev.rank()];
            for (int i = 1; i <= count; i++) {
                attn.forward(x[0], x[1], x[2], x[3]);
                if (i % SYNC_EVERY == 0 || i == count) {
                    attn.stream().synchronize("rank " + dev.rank() + ", layer " + i);
                }
            }
            return null;
        });
    }

    /**
     * What the process holds: device memory in use, the direct pool, live heap, Java threads (by name and id;
     * the common pool's workers come and go with idle time, so they are left out) and the resident set.
     */
    record Usage(long deviceBytes, long nativeBytes, long heapBytes, Set<String> threads, long residentKib) {
    }

    private static Usage usage() throws IOException {
        long heap = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc(); // first: a collection may release memory the direct pool counts
            heap = Math.min(heap, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        long nativeBytes = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(p -> p.getName().equals("direct")).mapToLong(BufferPoolMXBean::getMemoryUsed).sum();
        CudaRuntime.MemoryInfo device = CudaRuntime.memoryInfo();
        Set<String> threads = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> !t.getName().startsWith("ForkJoinPool.commonPool"))
                .map(t -> t.getName() + "#" + t.threadId()).collect(Collectors.toSet());
        return new Usage(device.totalBytes() - device.freeBytes(), nativeBytes, heap, threads, GraphCheck.residentOutsideJvmKib());
    }
}
