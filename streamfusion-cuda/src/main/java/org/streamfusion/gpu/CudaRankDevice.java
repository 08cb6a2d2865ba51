package org.streamfusion.gpu;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.streamfusion.DType;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.InvalidStateException;
import org.streamfusion.LinkClass;
import org.streamfusion.Topology;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.cuda.NativeAccess;
import org.streamfusion.launch.DistributedEnvironment;
import org.streamfusion.launch.KeyValueStore;
import org.streamfusion.InterMachineLink;
import org.streamfusion.spi.Communicator;
import org.streamfusion.spi.Kernels;
import org.streamfusion.spi.RankBackend;
import org.streamfusion.spi.StreamCapture;

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
    private final RankTransport join;
    private final Topology topology;
    private final GpuOptions options;
    private final CudaKernels kernels = new CudaKernels();
    private final LinkCounters counters;
    /** Synchronised on this device, as are {@link #newArena} and {@link #close}. */
    private final SideStreams sideStreams = new SideStreams(this);
    private final GpuCommunicator communicator;
    /** CUDA graph capture, shared by the rank's layers: the ranks agree on each capture in order. */
    private final StreamCapture graphs;
    /** Present when {@link GpuOptions#emulatedLink()} is. */
    private final Optional<EmulatedLinkClocks> links;
    private final List<GpuArena> arenas = new ArrayList<>();
    /** Callers' streams by handle, each wrapped once and released with the device. */
    private final Map<Long, GpuStream> callerStreams = new HashMap<>();
    private boolean closed;

    CudaRankDevice(RankTransport join, Topology topology, GpuOptions options) {
        this.join = join;
        this.topology = topology;
        this.options = options;
        this.counters = new LinkCounters(topology, join.rank());
        this.links = options.emulatedLink().map(link -> EmulatedLinkClocks.create(link, topology, join));
        this.communicator = new GpuCommunicator(join, options, sideStreams, counters, links);
        this.graphs = join.graphCapture();
    }

    /**
     * Joins the job described by {@code env}: selects GPU {@code LOCAL_RANK}, exchanges the NCCL and
     * NVSHMEM unique ids through rank 0's store, and initialises both. {@code topology} is the logical
     * {@code M x G} the plans use; it must cover the world.
     *
     * @param env      this process's rank, local rank, world size and rank 0's store address
     * @param topology the logical machines and GPUs per machine; {@code M*G} equals {@code WORLD_SIZE}
     * @param options  the rank's settings
     * @return this rank's device, joined to the job
     * @throws org.streamfusion.InvalidConfigurationException if {@code M*G} is not {@code WORLD_SIZE}, or
     *         {@code LOCAL_RANK} is not below the host's visible GPU count
     * @throws org.streamfusion.cuda.NativeAccessException naming the flag, if the JVM grants the library no native
     *         access
     */
    public static CudaRankDevice join(DistributedEnvironment env, Topology topology, GpuOptions options) {
        CudaJoin join = NativeAccess.call("joining the job", () -> CudaJoin.join(env, topology, options));
        try {
            return new CudaRankDevice(new JobTransport(join), topology, options);
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
     *
     * @return the effective emulated link, or empty
     */
    public Optional<InterMachineLink> emulatedLink() {
        return links.map(l -> l.model().effective());
    }

    /**
     * {@return the line every output that used this rank prints: the emulated link and its clocks, or "no
     * emulated link"}
     */
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

    /** {@return the CUDA device ordinal this rank runs on: its {@code LOCAL_RANK}} */
    public int cudaDevice() {
        return join.device();
    }

    /**
     * {@return the job's rendezvous store, served by rank 0; closed by {@link #close}, not by the caller}
     *
     * @throws InvalidStateException for a rank of an in-process world ({@link CudaWorld}), which has no store
     */
    public KeyValueStore store() {
        return join.store().orElseThrow(() -> new InvalidStateException("rank " + join.rank()
                + " belongs to an in-process world, which has no store"));
    }

    /**
     * {@return whether this rank is a rank of an in-process world ({@link CudaWorld}) rather than a process of a
     * job: its captured layers are then one graph for the whole world, which every rank replays together}
     */
    public boolean inProcessWorld() {
        return join.store().isEmpty();
    }

    /** {@return a line for every output that used this rank: what carries its bytes and how its GPU is shared} */
    public String transportReport() {
        return join.describe();
    }

    @Override
    public Communicator communicator() {
        return communicator;
    }

    @Override
    @SuppressWarnings("exports")
    public Class<GpuBuffer> bufferType() {
        return GpuBuffer.class;
    }

    @Override
    public Kernels kernels() {
        return kernels;
    }

    @Override
    public Optional<StreamCapture> streamCapture() {
        return Optional.of(graphs);
    }

    @Override
    public DType storageType(DType requested) {
        return requested;
    }

    @Override
    public synchronized DeviceArena newArena() {
        if (closed) {
            throw new InvalidStateException("rank device is closed");
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
     * @param memory the caller's device (or managed) memory; its byte size bounds the view
     * @param dtype  BF16 or F16
     * @param batch  {@code B}, positive
     * @param rows   {@code S_local}, this rank's rows of the sequence, positive
     * @param heads  {@code H}, positive
     * @param dim    {@code D}, positive and a multiple of 8 (it is the head stride)
     * @return a view of {@code memory} on this rank, not owning it
     * @throws org.streamfusion.InvalidConfigurationException naming the value and the rule: memory on another
     *         device or on the host, an address not 16-byte aligned, a dtype other than BF16 or F16, memory too
     *         small for the shape
     * @throws InvalidStateException if this device is closed
     */
    public synchronized TensorView wrap(MemorySegment memory, DType dtype, int batch, int rows,
            int heads, int dim) {
        long headStride = dim;
        long rowStride = headStride * heads;
        return wrap(memory, dtype, batch, rows, heads, dim, rowStride * rows, rowStride, headStride);
    }

    /**
     * The same with the caller's strides, in elements ({@code D} contiguous): for instance one of Q, K, V in a
     * fused {@code [B, S, 3, H, D]} tensor. Strides must be multiples of 8 elements.
     *
     * @param memory      the caller's device (or managed) memory; its byte size bounds the view
     * @param dtype       BF16 or F16
     * @param batch       {@code B}, positive
     * @param rows        {@code S_local}, this rank's rows of the sequence, positive
     * @param heads       {@code H}, positive
     * @param dim         {@code D}, positive
     * @param batchStride elements from one batch to the next, a non-negative multiple of 8
     * @param rowStride   elements from one row to the next, a non-negative multiple of 8
     * @param headStride  elements from one head to the next, a non-negative multiple of 8
     * @return a view of {@code memory} on this rank, not owning it
     * @throws org.streamfusion.InvalidConfigurationException naming the value and the rule: as for the packed
     *         view, or strides that are negative, not multiples of 8 or that make two elements share memory
     * @throws InvalidStateException if this device is closed
     */
    public synchronized TensorView wrap(MemorySegment memory, DType dtype, int batch, int rows,
            int heads, int dim, long batchStride, long rowStride, long headStride) {
        if (closed) {
            throw new InvalidStateException("rank device is closed");
        }
        CudaRuntime.setDevice(join.device());
        return CallerMemory.wrap(memory, dtype, join.device(), join.rank(), batch, rows, heads, dim, batchStride,
                rowStride, headStride);
    }

    /**
     * A raw device pointer from another framework (a CUDA array interface, {@code torch.Tensor.data_ptr()}, a
     * JavaCPP {@code Pointer.address()}) as a view, without a copy and without a restricted call by the caller:
     * the library sizes the pointer itself, under its own native access. The same rules as
     * {@link #wrap(MemorySegment, DType, int, int, int, int, long, long, long)}; a packed tensor has strides
     * {@code (rows*heads*dim, heads*dim, dim)}.
     *
     * @param address     the device (or managed) address of element {@code [0, 0, 0, 0]}
     * @param bytes       the bytes the caller owns from {@code address}; they bound the view
     * @param dtype       BF16 or F16
     * @param batch       {@code B}, positive
     * @param rows        {@code S_local}, positive
     * @param heads       {@code H}, positive
     * @param dim         {@code D}, positive
     * @param batchStride elements from one batch to the next, a non-negative multiple of 8
     * @param rowStride   elements from one row to the next, a non-negative multiple of 8
     * @param headStride  elements from one head to the next, a non-negative multiple of 8
     * @return a view of the caller's memory on this rank, not owning it
     * @throws org.streamfusion.InvalidConfigurationException as for the segment form, or if {@code bytes} is negative
     * @throws org.streamfusion.cuda.NativeAccessException naming the flag, if the JVM grants the library no native
     *         access
     * @throws org.streamfusion.InvalidStateException if this device is closed
     */
    public TensorView wrap(long address, long bytes, DType dtype, int batch, int rows, int heads, int dim,
            long batchStride, long rowStride, long headStride) {
        return wrap(CallerMemory.sized(address, bytes), dtype, batch, rows, heads, dim, batchStride, rowStride,
                headStride);
    }

    /**
     * The caller's {@code cudaStream_t} (its address) as a {@link Stream} to pass to
     * {@link org.streamfusion.DistributedAttention#forward(TensorView, TensorView, TensorView, TensorView, Stream)}:
     * used, never destroyed. Wrapping the same stream again gives the same object.
     *
     * @param cudaStream the stream's address ({@link java.lang.foreign.MemorySegment#NULL} for the legacy
     *                   default stream)
     * @return the stream, valid until this device closes
     * @throws org.streamfusion.InvalidConfigurationException if the stream belongs to another device, or
     *         {@code cudaStream} is {@code null}
     * @throws InvalidStateException if this device is closed
     */
    public synchronized Stream wrapStream(MemorySegment cudaStream) {
        if (closed) {
            throw new InvalidStateException("rank device is closed");
        }
        if (cudaStream == null) {
            throw new InvalidConfigurationException("cudaStream=null",
                    "a caller's stream is a cudaStream_t address (NULL for the legacy default stream)");
        }
        CudaRuntime.setDevice(join.device());
        int device = CudaRuntime.streamDevice(cudaStream);
        if (device != join.device()) {
            throw new InvalidConfigurationException("stream 0x" + Long.toHexString(cudaStream.address())
                    + " belongs to device " + device + ", rank " + join.rank() + " runs on device " + join.device(),
                    "a caller's stream is on its rank's GPU");
        }
        return callerStreams.computeIfAbsent(cudaStream.address(), a -> new GpuStream("caller",
                CudaStream.borrow(cudaStream), join.rank(), options.timeout(),
                join::checkAsyncErrors, join::markFailed));
    }

    /**
     * Bytes of this rank's ScatterPush and GatherPull moved by {@code mover} since it joined: a PE without
     * an NVLink mapping goes to the copy engines (NVSHMEM's own put or get) whatever the option says.
     *
     * @param mover the mover that carried the bytes
     * @return the bytes, counted when enqueued
     */
    public long oneSidedBytes(GpuOptions.OneSidedMover mover) {
        return counters.oneSidedBytes(mover);
    }

    /**
     * Bytes this rank initiated over one link class (sends, puts, gets) since it joined.
     *
     * @param c the link class
     * @return the bytes, counted when enqueued
     */
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
        for (GpuStream s : callerStreams.values()) {
            teardown.attempt(s::close); // its event only: a caller's stream is the caller's
        }
        callerStreams.clear();
        sideStreams.close(teardown);
        links.ifPresent(l -> l.close(teardown, !join.failed() && !teardown.hasErrors()));
        join.leave(teardown);
        teardown.throwFirstError();
    }
}
