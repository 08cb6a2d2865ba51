package org.streamfusion.cuda.nccl;

import org.streamfusion.InvalidArgumentException;
import org.streamfusion.InvalidStateException;
import org.streamfusion.bindings.nccl.Nccl;
import org.streamfusion.bindings.nccl.ncclUniqueId;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.cuda.NcclException;
import org.streamfusion.cuda.internal.OutParameter;
import org.streamfusion.cuda.loader.LoadedLibrary;
import org.streamfusion.cuda.loader.NativeLibrary;
import org.streamfusion.cuda.loader.NativeLoader;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Optional;

/**
 * An {@code ncclComm_t}. Destroyed by {@link #close()} (ncclCommDestroy) or torn down by
 * {@link #abort()}.
 *
 * <p>Only entry points that NCCL 2.28 exports are used, although the bindings come from the
 * 2.30 headers.
 */
public final class NcclCommunicator implements AutoCloseable {
    private final MemorySegment comm;
    private boolean closed;

    /**
     * nccl.h declares these as {@code f()} (no {@code void}), which C reads as unprototyped, so
     * jextract emits variadic invokers; called with no extra arguments they are plain calls.
     * Held in a holder so they link only after the library is loaded.
     */
    private static final class NoArg {
        static final Nccl.ncclGroupStart GROUP_START = Nccl.ncclGroupStart.makeInvoker();
        static final Nccl.ncclGroupEnd GROUP_END = Nccl.ncclGroupEnd.makeInvoker();
    }

    private NcclCommunicator(MemorySegment comm) {
        this.comm = comm;
    }

    /** Loads libnccl (after libcudart) if needed. */
    public static LoadedLibrary library() {
        return NativeLoader.global().load(NativeLibrary.NCCL);
    }

    /** ncclGetVersion, e.g. 22807 for 2.28.7. */
    public static int version() {
        library();
        return OutParameter.intValue("ncclGetVersion", NcclCommunicator::checkWithoutComm, Nccl::ncclGetVersion);
    }

    /** ncclGetUniqueId: rank 0 makes it and hands the bytes to every other rank out of band. */
    public static byte[] uniqueId() {
        library();
        return OutParameter.bytes("ncclGetUniqueId", NcclCommunicator::checkWithoutComm, ncclUniqueId::allocate,
                Nccl::ncclGetUniqueId);
    }

    /** ncclCommInitRank on the current CUDA device. Collective over all {@code nranks} ranks. */
    public static NcclCommunicator initRank(int nranks, byte[] uniqueId, int rank) {
        if (uniqueId.length != ncclUniqueId.sizeof()) {
            throw new InvalidArgumentException("ncclUniqueId is " + ncclUniqueId.sizeof() + " bytes, got " + uniqueId.length);
        }
        library();
        try (Arena call = Arena.ofConfined()) {
            MemorySegment id = ncclUniqueId.allocate(call);
            id.copyFrom(MemorySegment.ofArray(uniqueId));
            return new NcclCommunicator(OutParameter.pointer("ncclCommInitRank", NcclCommunicator::checkWithoutComm,
                    out -> Nccl.ncclCommInitRank(out, nranks, id, rank)));
        }
    }

    /**
     * ncclCommSplit (NCCL >= 2.18). Collective over this communicator. Empty for a rank that passes
     * {@code color < 0} (NCCL_SPLIT_NOCOLOR).
     */
    public Optional<NcclCommunicator> split(int color, int key) {
        int c = color < 0 ? Nccl.NCCL_SPLIT_NOCOLOR() : color;
        MemorySegment child = OutParameter.pointer("ncclCommSplit", this::checkOnComm,
                out -> Nccl.ncclCommSplit(handle(), c, key, out, MemorySegment.NULL));
        return child.equals(MemorySegment.NULL) ? Optional.empty() : Optional.of(new NcclCommunicator(child));
    }

    public int rank() {
        return OutParameter.intValue("ncclCommUserRank", this::checkOnComm,
                out -> Nccl.ncclCommUserRank(handle(), out));
    }

    public int size() {
        return OutParameter.intValue("ncclCommCount", this::checkOnComm, out -> Nccl.ncclCommCount(handle(), out));
    }

    /** Sends {@code count} elements of a device buffer to {@code peer}, ordered on {@code stream}. */
    public void send(MemorySegment buffer, long count, NcclDataType type, int peer, CudaStream stream) {
        checkBuffer(buffer, count, type);
        check("ncclSend", Nccl.ncclSend(buffer, count, type.nativeValue(), peer, handle(), stream.handle()), comm);
    }

    public void recv(MemorySegment buffer, long count, NcclDataType type, int peer, CudaStream stream) {
        checkBuffer(buffer, count, type);
        check("ncclRecv", Nccl.ncclRecv(buffer, count, type.nativeValue(), peer, handle(), stream.handle()), comm);
    }

    public void allReduce(MemorySegment send, MemorySegment recv, long count, NcclDataType type, NcclRedOp op,
                          CudaStream stream) {
        checkBuffer(send, count, type);
        checkBuffer(recv, count, type);
        check("ncclAllReduce", Nccl.ncclAllReduce(send, recv, count, type.nativeValue(), op.nativeValue(),
                handle(), stream.handle()), comm);
    }

    /** ncclGroupStart: fuse the following sends/recvs until {@link #groupEnd()}. */
    public static void groupStart() {
        library();
        check("ncclGroupStart", NoArg.GROUP_START.apply(), MemorySegment.NULL);
    }

    public static void groupEnd() {
        library();
        check("ncclGroupEnd", NoArg.GROUP_END.apply(), MemorySegment.NULL);
    }

    /** ncclCommGetAsyncError: throws if a background operation of this communicator failed. */
    public void checkAsyncError() {
        int code = OutParameter.intValue("ncclCommGetAsyncError", this::checkOnComm,
                error -> Nccl.ncclCommGetAsyncError(handle(), error));
        if (code != Nccl.ncclSuccess() && code != Nccl.ncclInProgress()) {
            throw exception("ncclCommGetAsyncError (async)", code, comm);
        }
    }

    public MemorySegment handle() {
        if (closed) {
            throw new InvalidStateException("communicator is closed");
        }
        return comm;
    }

    /** ncclCommAbort: frees resources without waiting for pending work (error paths). */
    public void abort() {
        if (closed) {
            return;
        }
        closed = true;
        check("ncclCommAbort", Nccl.ncclCommAbort(comm), MemorySegment.NULL);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        check("ncclCommDestroy", Nccl.ncclCommDestroy(comm), MemorySegment.NULL);
    }

    private static void checkBuffer(MemorySegment buffer, long count, NcclDataType type) {
        if (count < 0 || buffer.byteSize() < count * type.byteSize()) {
            throw new InvalidArgumentException(count + " x " + type + " does not fit a " + buffer.byteSize() + "-byte buffer");
        }
    }

    private static void check(String call, int rc, MemorySegment comm) {
        if (rc != Nccl.ncclSuccess()) {
            throw exception(call, rc, comm);
        }
    }

    /** For calls made before there is a communicator: ncclGetLastError(NULL). */
    private static void checkWithoutComm(String call, int rc) {
        check(call, rc, MemorySegment.NULL);
    }

    private void checkOnComm(String call, int rc) {
        check(call, rc, comm);
    }

    /** Builds the exception with ncclGetErrorString and ncclGetLastError (comm may be NULL). */
    static NcclException exception(String call, int rc, MemorySegment comm) {
        String text = Nccl.ncclGetErrorString(rc).getString(0);
        MemorySegment last = Nccl.ncclGetLastError(comm);
        return new NcclException(call, rc, text, last.equals(MemorySegment.NULL) ? "" : last.getString(0));
    }
}
