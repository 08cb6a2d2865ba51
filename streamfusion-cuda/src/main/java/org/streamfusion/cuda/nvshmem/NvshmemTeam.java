package org.streamfusion.cuda.nvshmem;

import org.streamfusion.InvalidStateException;
import org.streamfusion.bindings.nvshmem.Nvshmem;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.cuda.internal.OutParameter;

import java.lang.foreign.MemorySegment;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/** An {@code nvshmem_team_t}. Teams made by a split are destroyed by {@link #close()}; predefined ones are not. */
public final class NvshmemTeam implements AutoCloseable {
    static final NvshmemTeam WORLD = new NvshmemTeam(Nvshmem.NVSHMEM_TEAM_WORLD(), false);

    private final int team;
    private final boolean owned;
    private boolean closed;

    private NvshmemTeam(int team, boolean owned) {
        this.team = team;
        this.owned = owned;
    }

    /** NVSHMEMX_TEAM_NODE: the PEs on this node (predefined). */
    public static NvshmemTeam node() {
        return new NvshmemTeam(Nvshmem.NVSHMEMX_TEAM_NODE(), false);
    }

    /**
     * nvshmem_team_split_strided: PEs {@code start, start + stride, ...} ({@code size} of them) of this
     * team. Collective over this team. Empty on PEs that are not members.
     */
    public Optional<NvshmemTeam> splitStrided(int start, int stride, int size) {
        int child = OutParameter.intValue("nvshmem_team_split_strided", NvshmemRuntime::check, out -> {
            out.set(JAVA_INT, 0, Nvshmem.NVSHMEM_TEAM_INVALID()); // what a non-member gets
            return Nvshmem.nvshmem_team_split_strided(handle(), start, stride, size, MemorySegment.NULL, 0L, out);
        });
        return child == Nvshmem.NVSHMEM_TEAM_INVALID() ? Optional.empty() : Optional.of(new NvshmemTeam(child, true));
    }

    public int handle() {
        if (closed) {
            throw new InvalidStateException("team is destroyed");
        }
        return team;
    }

    public int myPe() {
        return Nvshmem.nvshmem_team_my_pe(handle());
    }

    public int nPes() {
        return Nvshmem.nvshmem_team_n_pes(handle());
    }

    /** nvshmemx_barrier_on_stream: every member has arrived and prior puts are complete. */
    public void barrier(CudaStream stream) {
        NvshmemRuntime.check("nvshmemx_barrier_on_stream", Nvshmem.nvshmemx_barrier_on_stream(handle(), stream.handle()));
    }

    @Override
    public void close() {
        if (closed || !owned) {
            return;
        }
        closed = true;
        Nvshmem.nvshmem_team_destroy(team);
    }
}
