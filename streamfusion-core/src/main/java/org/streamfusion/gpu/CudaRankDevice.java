package org.streamfusion.gpu;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.streamfusion.DType;
import org.streamfusion.InterMachineLink;
import org.streamfusion.LinkClass;
import org.streamfusion.Topology;
import org.streamfusion.spi.Communicator;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.spi.Kernels;
import org.streamfusion.spi.RankBackend;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.launch.DistributedEnvironment;
import org.streamfusion.launch.KeyValueStore;

/**
 * One GPU of a multi-process job, as a {@link org.streamfusion.backend.RankDevice}: memory, streams and events from the CUDA
 * runtime, the kernels of libstreamfusion, two-sided transfers over NCCL and one-sided ones over
 * NVSHMEM. The schedules run on it unchanged. {@link #join} is collective over all ranks.
 *
 * <p>The parts: {@code CudaJoin} (rendezvous, NCCL and NVSHMEM, and leaving), {@code GpuArena},
 * {@code GpuCommunicator}, {@code SideStreams} (the one-sided fan-out) and {@code LinkCounters}.
 */
@SuppressWarnings("exports") // RankBackend is the library's inside; callers hold it as a RankDevice
public final class CudaRankDevice implements RankBackend, AutoCloseable {
    private final CudaJoin join;
    private final Topology topology;
    private final GpuOptions options;
    private final CudaKernels kernels = new CudaKernels();
    private final LinkCounters counters;
    /** Synchronised on this device, as are {@link #newArena} and {@link #close}. */
    private final SideStreams sideStreams = new SideStreams(this);
    private final GpuCommunicator communicator;
    /** Present when {@link GpuOptions#emulatedLink()} is. */
    private final Optional<EmulatedLinkClocks> links;
    private final List<GpuArena> arenas = new ArrayList<>();
    /** Callers' streams by handle, each wrapped once and released with the device. */
    private final java.util.Map<Long, CudaStreamHandle> callerStreams = new java.util.HashMap<>();
    private boolean closed;

    private CudaRankDevice(CudaJoin join, Topology topology, GpuOptions options) {
        this.join = join;
        this.topology = topology;
        this.options = options;
        this.counters = new LinkCounters(topology, join.rank());
        this.links = options.emulatedLink().map(link -> EmulatedLinkClocks.create(link, topology, join));
        this.communicator = new GpuCommunicator(join, options, sideStreams, counters, links);
    }

    /**
     * Joins the job described by {@code env}: selects GPU {@code LOCAL_RANK}, exchanges the NCCL and
     * NVSHMEM unique ids through rank 0's store, and initialises both. {@code topology} is the logical
     * {@code M x G} the plans use; it must cover the world.
     */
    public static CudaRankDevice join(DistributedEnvironment env, Topology topology, GpuOptions options) {
        CudaJoin join = CudaJoin.join(env, topology, options);
        try {
            return new CudaRankDevice(join, topology, options);
        } catch (RuntimeException | Error e) {
            // The clocks could not be made: leave the job without the collectives the peers may skip.
            join.markFailed();
            Teardown teardown = new Teardown(join::markFailed);
            join.leave(teardown);
            throw e;
        }
    }

    /**
     * The inter-machine link this rank's crossing transfers are emulated over, as its durations use it: the
     * configured one, or each GPU's share of it when a NIC per machine has no shared clock
     * ({@link #emulatedLinkReport}); empty when transfers are not emulated.
     */
    public Optional<InterMachineLink> emulatedLink() {
        return links.map(l -> l.model().effective());
    }

    /** The line every output that used this rank prints: the emulated link and its clocks, or "no emulated link". */
    public String emulatedLinkReport() {
        return links.map(l -> l.model().report()).orElse("no emulated link");
    }

    @Override
    public int rank() {
        return join.rank();
    }

    @Override
    public Topology topology() {
        return topology;
    }

    public int cudaDevice() {
        return join.device();
    }

    public KeyValueStore store() {
        return join.store();
    }

    @Override
    public Communicator communicator() {
        return communicator;
    }

    @Override
    @SuppressWarnings("exports")
    public Class<CudaBuffer> bufferType() {
        return CudaBuffer.class;
    }

    @Override
    public Kernels kernels() {
        return kernels;
    }

    @Override
    public DType storageType(DType requested) {
        return requested;
    }

    @Override
    public synchronized DeviceArena newArena() {
        if (closed) {
            throw new IllegalStateException("rank device is closed");
        }
        // The CUDA device is per host thread: an arena made on another thread must still land on this GPU.
        CudaRuntime.setDevice(join.device());
        GpuArena a = new GpuArena(join, options);
        arenas.add(a);
        return a;
    }

    /**
     * The caller's device memory as a packed {@code [B, S_local, H, D]} tensor, without a copy (docs/embedding.md).
     * The caller keeps the memory alive while a layer that uses it can run.
     *
     * @throws org.streamfusion.InvalidConfigurationException naming the value and the rule: memory on another
     *         device or on the host, an address not 16-byte aligned, a dtype other than BF16 or F16, memory too
     *         small for the shape
     */
    public TensorView wrap(java.lang.foreign.MemorySegment memory, DType dtype, int batch, int rows, int heads, int dim) {
        long headStride = dim;
        long rowStride = headStride * heads;
        return wrap(memory, dtype, batch, rows, heads, dim, rowStride * rows, rowStride, headStride);
    }

    /**
     * The same with the caller's strides, in elements ({@code D} contiguous): for instance one of Q, K, V in a
     * fused {@code [B, S, 3, H, D]} tensor. Strides must be multiples of 8 elements.
     */
    public TensorView wrap(java.lang.foreign.MemorySegment memory, DType dtype, int batch, int rows, int heads, int dim,
            long batchStride, long rowStride, long headStride) {
        CudaRuntime.setDevice(join.device());
        return CallerMemory.wrap(memory, dtype, join.device(), join.rank(), batch, rows, heads, dim, batchStride,
                rowStride, headStride);
    }

    /**
     * The caller's {@code cudaStream_t} (its address) as a {@link Stream} to pass to
     * {@link org.streamfusion.DistributedAttention#forward(TensorView, TensorView, TensorView, TensorView, Stream)}:
     * used, never destroyed. Wrapping the same stream again gives the same object.
     *
     * @throws org.streamfusion.InvalidConfigurationException if the stream belongs to another device
     */
    public synchronized Stream wrapStream(java.lang.foreign.MemorySegment cudaStream) {
        if (closed) {
            throw new IllegalStateException("rank device is closed");
        }
        if (cudaStream == null) {
            throw new org.streamfusion.InvalidConfigurationException("cudaStream=null",
                    "a caller's stream is a cudaStream_t address (NULL for the legacy default stream)");
        }
        CudaRuntime.setDevice(join.device());
        int device = CudaRuntime.streamDevice(cudaStream);
        if (device != join.device()) {
            throw new org.streamfusion.InvalidConfigurationException("stream 0x" + Long.toHexString(cudaStream.address())
                    + " belongs to device " + device + ", rank " + join.rank() + " runs on device " + join.device(),
                    "a caller's stream is on its rank's GPU");
        }
        return callerStreams.computeIfAbsent(cudaStream.address(), a -> new CudaStreamHandle("caller",
                org.streamfusion.cuda.CudaStream.borrow(cudaStream), join.rank(), options.timeout(),
                join::checkAsyncErrors, join::markFailed));
    }

    /**
     * Bytes of this rank's ScatterPush and GatherPull moved by {@code mover} since it joined: a PE without
     * an NVLink mapping goes to the copy engines (NVSHMEM's own put or get) whatever the option says.
     */
    public long oneSidedBytes(GpuOptions.OneSidedMover mover) {
        return counters.oneSidedBytes(mover);
    }

    /** Bytes this rank initiated over one link class (sends, puts, gets) since it joined. */
    public long bytes(LinkClass c) {
        return counters.bytes(c);
    }

    /**
     * Collective: frees every arena, the teams, NVSHMEM and NCCL, then leaves the store. After a failed
     * host wait it is not collective: it aborts NCCL, tells the other ranks through the store, skips
     * what would wait for them (symmetric frees, NVSHMEM finalize), and releases the rest.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        Teardown teardown = new Teardown(join::markFailed);
        for (GpuArena a : List.copyOf(arenas)) {
            teardown.attempt(a::close);
        }
        communicator.closeTeams(teardown);
        for (CudaStreamHandle s : callerStreams.values()) {
            teardown.attempt(s::close); // its event only: a caller's stream is the caller's
        }
        callerStreams.clear();
        sideStreams.close(teardown);
        links.ifPresent(l -> l.close(teardown, !join.failed() && !teardown.hasErrors()));
        join.leave(teardown);
        teardown.throwFirstError();
    }
}
