package org.streamfusion.gpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.InvalidStateException;
import org.streamfusion.StreamFusionException;
import org.streamfusion.Topology;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.cuda.DeviceMemory;
import org.streamfusion.cuda.NativeAccess;

/**
 * Every rank of a job of any {@link Topology} in this process, on one GPU: the CUDA twin of
 * {@code org.streamfusion.cpu.CpuWorld}, for tests, for trying a deployment on one workstation GPU, and for
 * measurement. Each rank is a {@link CudaRankDevice} with its own thread, streams, events and memory; its
 * transfers are device copies with NCCL's two-sided rules and NVSHMEM's one-sided ones (docs/one-gpu-world.md).
 * The schedules, kernels, FP8 wire, caller memory and emulated links are the code that runs on NCCL and
 * NVSHMEM. The ranks share the GPU's SMs (no partition). A captured layer is one CUDA graph for the whole world
 * ({@code WorldGraphCapture}).
 *
 * <p>{@link #run} runs a body on every rank, each on its own thread of the world (started with it and reused).
 * When a rank throws, the world fails: its peers' waits return at once and {@code run} throws that rank's
 * exception, the others' suppressed in it. A failed world stays failed; close it and make a new one.
 */
public final class CudaWorld implements AutoCloseable {
    private static final AtomicInteger WORLDS = new AtomicInteger();

    private final Topology topology;
    private final int cudaDevice;
    private final LocalFabric fabric;
    private final List<ExecutorService> threads = new ArrayList<>();
    private final List<CudaRankDevice> devices = new ArrayList<>();
    private boolean closed;

    private CudaWorld(Topology topology, int cudaDevice, GpuOptions options) {
        this.topology = topology;
        this.cudaDevice = cudaDevice;
        this.fabric = new LocalFabric(topology.worldSize(), options.timeout());
        int id = WORLDS.incrementAndGet();
        for (int rank = 0; rank < topology.worldSize(); rank++) {
            String name = "streamfusion-cuda-world-" + id + "-rank-" + rank;
            threads.add(Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, name);
                t.setDaemon(true);
                return t;
            }));
        }
    }

    /**
     * Makes the ranks of {@code topology} on CUDA device {@code cudaDevice}, each on its own thread.
     *
     * @param topology   the logical machines and GPUs per machine
     * @param cudaDevice the GPU every rank runs on
     * @param options    every rank's settings; {@link GpuOptions#nvshmem()} is not used (every rank's memory is
     *                   addressable here)
     * @return the world
     * @throws InvalidConfigurationException if {@code cudaDevice} is not a visible GPU
     * @throws org.streamfusion.cuda.NativeAccessException naming the flag, if the JVM grants the library no native
     *         access
     */
    public static CudaWorld create(Topology topology, int cudaDevice, GpuOptions options) {
        return NativeAccess.call("making an in-process world", () -> {
            CudaRuntime.requireAvailable();
            int count = CudaRuntime.deviceCount();
            if (cudaDevice < 0 || cudaDevice >= count) {
                throw new InvalidConfigurationException("cudaDevice=" + cudaDevice + " on a host with " + count + " GPUs",
                        "0 <= cudaDevice < visible GPUs");
            }
            CudaRuntime.setDevice(cudaDevice);
            CudaRuntime.initContext();
            Compatibility.table().check(Compatibility.Found.probe(cudaDevice, false), 0, cudaDevice);
            CudaWorld world = new CudaWorld(topology, cudaDevice, options);
            try {
                world.devices.addAll(world.onEveryRank(rank -> new CudaRankDevice(
                        new LocalTransport(world.fabric, rank, cudaDevice), topology, options)));
                return world;
            } catch (RuntimeException | Error e) {
                world.close();
                throw e;
            }
        });
    }

    /** {@return the logical machines and GPUs per machine} */
    public Topology topology() {
        return topology;
    }

    /**
     * {@return rank {@code rank}'s device, owned by the world (closed by {@link #close})}
     *
     * @param rank the rank, {@code 0 <= rank < topology().worldSize()}
     * @throws InvalidConfigurationException if {@code rank} is out of range
     */
    public CudaRankDevice device(int rank) {
        if (rank < 0 || rank >= devices.size()) {
            throw new InvalidConfigurationException("rank=" + rank, "0 <= rank < " + topology.worldSize());
        }
        return devices.get(rank);
    }

    /** {@return the line every output that used this world prints: its ranks, its GPU and how they share it} */
    public String report() {
        return devices.isEmpty() ? "in-process world on GPU " + cudaDevice : devices.getFirst().transportReport();
    }

    /**
     * Runs {@code body} on every rank, each on its own thread, and returns the results in rank order.
     *
     * @param body what every rank does with its device
     * @param <T>  the result type
     * @return each rank's result
     * @throws InvalidStateException if the world is closed or failed earlier
     */
    public <T> List<T> run(Function<CudaRankDevice, T> body) {
        if (closed || fabric.failed()) {
            throw new InvalidStateException(closed ? "the world is closed" : "the world failed in an earlier run");
        }
        return onEveryRank(rank -> body.apply(devices.get(rank)));
    }

    private <T> List<T> onEveryRank(Function<Integer, T> body) {
        List<Future<T>> futures = new ArrayList<>();
        for (int rank = 0; rank < threads.size(); rank++) {
            int r = rank;
            Callable<T> task = () -> {
                CudaRuntime.setDevice(cudaDevice);
                try {
                    return body.apply(r);
                } catch (RuntimeException | Error e) {
                    fabric.fail(r, e);
                    throw e;
                }
            };
            futures.add(threads.get(rank).submit(task));
        }
        List<T> results = new ArrayList<>();
        Throwable[] errors = new Throwable[futures.size()];
        for (int rank = 0; rank < futures.size(); rank++) {
            try {
                results.add(futures.get(rank).get());
            } catch (ExecutionException e) {
                errors[rank] = e.getCause();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fabric.fail(-1, e);
                throw new StreamFusionException("interrupted while the world's ranks ran", e);
            }
        }
        // The rank that failed the world first is the cause; the others' errors (their stopped waits) go with it.
        int failed = fabric.failedRank();
        Throwable first = failed >= 0 && failed < errors.length && errors[failed] != null ? errors[failed] : null;
        for (Throwable t : errors) {
            if (t != null && first == null) {
                first = t;
            } else if (t != null && t != first) {
                first.addSuppressed(t);
            }
        }
        if (first instanceof RuntimeException re) {
            throw re;
        }
        if (first instanceof Error err) {
            throw err;
        }
        return results;
    }

    /**
     * Closes every rank's device on its own thread, frees the symmetric blocks a failed rank left, and stops the
     * threads. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        StreamFusionException error = null;
        try {
            if (!devices.isEmpty()) {
                onEveryRank(rank -> {
                    devices.get(rank).close();
                    return null;
                });
            }
        } catch (RuntimeException e) {
            error = new StreamFusionException("closing the in-process world failed", e);
        }
        List<Object> leftBlocks = fabric.drain("heap/");
        // graphs of captured layers that not every rank closed (a failed world): destroyed once, here
        List<Object> leftGraphs = fabric.drain("world-graph/").stream()
                .filter(g -> g instanceof WorldGraphCapture.WorldGraph).toList();
        if (!leftBlocks.isEmpty() || !leftGraphs.isEmpty()) {
            // a failed rank's peers may still have copies in flight into these blocks; a sticky error after a
            // failed world must not keep the rest from being freed nor the threads from stopping
            List<Runnable> frees = new ArrayList<>();
            frees.add(() -> {
                CudaRuntime.setDevice(cudaDevice);
                CudaRuntime.synchronizeDevice();
            });
            leftBlocks.forEach(m -> frees.add(((DeviceMemory) m)::close));
            leftGraphs.forEach(g -> frees.add(((WorldGraphCapture.WorldGraph) g)::close));
            for (Runnable free : frees) {
                try {
                    free.run();
                } catch (RuntimeException e) {
                    if (error == null) {
                        error = new StreamFusionException("closing the in-process world failed", e);
                    } else {
                        error.addSuppressed(e);
                    }
                }
            }
        }
        for (ExecutorService t : threads) {
            t.shutdownNow();
        }
        for (ExecutorService t : threads) {
            try {
                t.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (error != null) {
            throw error;
        }
    }
}
