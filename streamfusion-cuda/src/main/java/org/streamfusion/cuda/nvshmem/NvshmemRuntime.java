package org.streamfusion.cuda.nvshmem;

import org.streamfusion.InvalidArgumentException;
import org.streamfusion.InvalidStateException;
import org.streamfusion.bindings.nvshmem.Nvshmem;
import org.streamfusion.bindings.nvshmem.nvshmemx_init_args_v1;
import org.streamfusion.bindings.nvshmem.nvshmemx_init_attr_v1;
import org.streamfusion.bindings.nvshmem.nvshmemx_uniqueid_args_v1;
import org.streamfusion.bindings.nvshmem.nvshmemx_uniqueid_v1;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.cuda.NvshmemException;
import org.streamfusion.cuda.internal.OutParameter;
import org.streamfusion.cuda.loader.LoadedLibrary;
import org.streamfusion.cuda.loader.NativeLibrary;
import org.streamfusion.cuda.loader.NativeLoader;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The NVSHMEM host library, initialised through its exported unique-id path. In NVSHMEM 3.4.5
 * {@code nvshmem_init*}, {@code nvshmemx_init_attr} and {@code nvshmem_finalize} are static inline
 * (no symbol in libnvshmem_host.so.3), so this does what they would:
 * cudaSetDevice + cudaFree(0); rank 0 {@code nvshmemx_get_uniqueid}; every rank
 * {@code nvshmemx_set_attr_uniqueid_args} + {@code nvshmemx_hostlib_init_attr(NVSHMEMX_INIT_WITH_UNIQUEID)};
 * check {@code nvshmemx_init_status() == NVSHMEM_STATUS_IS_INITIALIZED}; and
 * {@code nvshmemx_hostlib_finalize} on {@link #close()}.
 *
 * <p>One runtime per process at a time.
 */
public final class NvshmemRuntime implements AutoCloseable {
    private static final AtomicBoolean ACTIVE = new AtomicBoolean();

    /** Versioned-struct tag NVSHMEM expects: (1 << 16) + sizeof(struct). */
    private static int structVersion(long byteSize) {
        return (1 << 16) + (int) byteSize;
    }

    /**
     * The NVSHMEM headers declare these as {@code f()} (no {@code void}), which C reads as
     * unprototyped, so jextract emits variadic invokers; with no extra arguments they are plain calls.
     * Held in a holder so they link only after the library is loaded.
     */
    private static final class NoArg {
        static final Nvshmem.nvshmemx_init_status INIT_STATUS = Nvshmem.nvshmemx_init_status.makeInvoker();
        static final Nvshmem.nvshmem_my_pe MY_PE = Nvshmem.nvshmem_my_pe.makeInvoker();
        static final Nvshmem.nvshmem_n_pes N_PES = Nvshmem.nvshmem_n_pes.makeInvoker();
        static final Nvshmem.nvshmemx_hostlib_finalize FINALIZE = Nvshmem.nvshmemx_hostlib_finalize.makeInvoker();
    }

    // Holds the unique id and the attr struct: NVSHMEM keeps a pointer to the id after init.
    private final Arena arena;
    private final int myPe;
    private final int nPes;
    private boolean closed;

    private NvshmemRuntime(Arena arena, int myPe, int nPes) {
        this.arena = arena;
        this.myPe = myPe;
        this.nPes = nPes;
    }

    /** Loads libnvshmem_host (after libcudart) if needed. */
    public static LoadedLibrary library() {
        return NativeLoader.global().load(NativeLibrary.NVSHMEM);
    }

    /** The library's version, e.g. "3.4.5" (nvshmemx_vendor_get_version_info). */
    public static String version() {
        library();
        try (Arena call = Arena.ofConfined()) {
            MemorySegment v = call.allocate(JAVA_INT, 3);
            Nvshmem.nvshmemx_vendor_get_version_info(v, v.asSlice(4), v.asSlice(8));
            return v.getAtIndex(JAVA_INT, 0) + "." + v.getAtIndex(JAVA_INT, 1) + "." + v.getAtIndex(JAVA_INT, 2);
        }
    }

    /**
     * Makes a unique id on {@code device} (rank 0 only); send its bytes to every rank out of band.
     */
    public static byte[] uniqueId(int device) {
        library();
        CudaRuntime.setDevice(device);
        CudaRuntime.initContext();
        return OutParameter.bytes("nvshmemx_get_uniqueid", NvshmemRuntime::check, allocator -> {
            MemorySegment id = nvshmemx_uniqueid_v1.allocate(allocator);
            nvshmemx_uniqueid_v1.version(id, structVersion(nvshmemx_uniqueid_v1.sizeof()));
            return id;
        }, Nvshmem::nvshmemx_get_uniqueid);
    }

    /**
     * Joins the job as PE {@code rank} of {@code nranks} on {@code device}. Collective: every rank
     * calls it with the same id.
     */
    public static NvshmemRuntime init(int device, int rank, int nranks, byte[] uniqueId) {
        if (uniqueId.length != nvshmemx_uniqueid_v1.sizeof()) {
            throw new InvalidArgumentException("nvshmemx_uniqueid_t is " + nvshmemx_uniqueid_v1.sizeof()
                    + " bytes, got " + uniqueId.length);
        }
        if (rank < 0 || rank >= nranks) {
            throw new InvalidArgumentException("rank " + rank + " outside [0, " + nranks + ")");
        }
        library();
        if (!ACTIVE.compareAndSet(false, true)) {
            throw new InvalidStateException("an NvshmemRuntime is already active in this process");
        }
        Arena arena = Arena.ofShared();
        try {
            CudaRuntime.setDevice(device);
            CudaRuntime.initContext();
            MemorySegment id = nvshmemx_uniqueid_v1.allocate(arena);
            id.copyFrom(MemorySegment.ofArray(uniqueId));
            MemorySegment attr = newInitAttr(arena);
            check("nvshmemx_set_attr_uniqueid_args", Nvshmem.nvshmemx_set_attr_uniqueid_args(rank, nranks, id, attr));
            check("nvshmemx_hostlib_init_attr",
                    Nvshmem.nvshmemx_hostlib_init_attr(Nvshmem.NVSHMEMX_INIT_WITH_UNIQUEID(), attr));
            int status = NoArg.INIT_STATUS.apply();
            if (status != Nvshmem.NVSHMEM_STATUS_IS_INITIALIZED()) {
                throw new NvshmemException("nvshmemx_init_status", status,
                        "expected NVSHMEM_STATUS_IS_INITIALIZED (" + Nvshmem.NVSHMEM_STATUS_IS_INITIALIZED()
                                + ") after nvshmemx_hostlib_init_attr");
            }
            int me = NoArg.MY_PE.apply();
            int n = NoArg.N_PES.apply();
            if (me != rank || n != nranks) {
                throw new InvalidStateException("NVSHMEM reports PE " + me + " of " + n + ", expected " + rank + " of " + nranks);
            }
            return new NvshmemRuntime(arena, me, n);
        } catch (RuntimeException | Error e) {
            ACTIVE.set(false);
            arena.close();
            throw e;
        }
    }

    /** NVSHMEMX_INIT_ATTR_INITIALIZER, written out: the macro and the inline init that uses it are not in the library. */
    private static MemorySegment newInitAttr(Arena arena) {
        MemorySegment attr = nvshmemx_init_attr_v1.allocate(arena); // zeroed
        nvshmemx_init_attr_v1.version(attr, structVersion(nvshmemx_init_attr_v1.sizeof()));
        nvshmemx_init_attr_v1.mpi_comm(attr, MemorySegment.NULL);
        MemorySegment args = nvshmemx_init_attr_v1.args(attr);
        nvshmemx_init_args_v1.version(args, structVersion(nvshmemx_init_args_v1.sizeof()));
        MemorySegment uid = nvshmemx_init_args_v1.uid_args(args);
        nvshmemx_uniqueid_args_v1.version(uid, structVersion(nvshmemx_uniqueid_args_v1.sizeof()));
        nvshmemx_uniqueid_args_v1.id(uid, MemorySegment.NULL);
        nvshmemx_uniqueid_args_v1.myrank(uid, -1);
        nvshmemx_uniqueid_args_v1.nranks(uid, -1);
        return attr;
    }

    public int myPe() {
        requireOpen();
        return myPe;
    }

    public int nPes() {
        requireOpen();
        return nPes;
    }

    /** nvshmem_malloc: collective; every PE must ask for the same size. */
    public SymmetricMemory allocate(long bytes) {
        requireOpen();
        return SymmetricMemory.allocate(bytes);
    }

    /** NVSHMEM_TEAM_WORLD (not owned; closing it does nothing). */
    public NvshmemTeam world() {
        requireOpen();
        return NvshmemTeam.WORLD;
    }

    /** nvshmemx_barrier_all_on_stream: all PEs, prior puts complete. */
    public void barrierAll(CudaStream stream) {
        requireOpen();
        Nvshmem.nvshmemx_barrier_all_on_stream(stream.handle());
    }

    /** nvshmemx_quiet_on_stream: this PE's puts issued on the stream are complete and visible. */
    public void quiet(CudaStream stream) {
        requireOpen();
        Nvshmem.nvshmemx_quiet_on_stream(stream.handle());
    }

    /** nvshmemx_hostlib_finalize. Collective; free symmetric memory and teams first. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            NoArg.FINALIZE.apply();
        } finally {
            arena.close();
            ACTIVE.set(false);
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new InvalidStateException("NVSHMEM runtime is finalized");
        }
    }

    static void check(String call, int rc) {
        if (rc != Nvshmem.NVSHMEMX_SUCCESS()) {
            throw new NvshmemException(call, rc, NvshmemException.statusName(rc));
        }
    }
}
