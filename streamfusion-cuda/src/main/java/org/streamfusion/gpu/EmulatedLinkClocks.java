package org.streamfusion.gpu;

import java.lang.foreign.MemorySegment;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.streamfusion.InterMachineLink;
import org.streamfusion.Topology;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.cuda.DeviceMemory;
import org.streamfusion.cuda.sf.LinkWait;

/**
 * A rank's NIC clocks in device memory and the two kernels around each crossing transfer: a reservation
 * before it on the issuing stream (the emulated transfer starts when the real one does) and a wait after it
 * (every consumer in stream order sees it no earlier than the link delivers it).
 */
final class EmulatedLinkClocks {
    /** Done-time slots used round robin: a slot is reused after this many later reservations. */
    private static final int SLOTS = 1024;
    private static final long WORD = LinkWait.WORD_BYTES;

    private final EmulatedLinkModel model;
    /** Words 0 and 1: this GPU's outgoing and incoming clocks; then the slots. */
    private final DeviceMemory local;
    /** For a NIC per machine: words 0 and 1 of every rank, of which the machine's first GPU's are used. */
    private final SymmetricBlock shared;
    private final MemorySegment outgoing;
    private final MemorySegment incoming;
    private final AtomicLong nextSlot = new AtomicLong();

    /** Where a reserved transfer's done time is; waited on after the transfer. */
    record Reservation(MemorySegment doneAt) {
    }

    private EmulatedLinkClocks(EmulatedLinkModel model, DeviceMemory local, SymmetricBlock shared,
            MemorySegment outgoing, MemorySegment incoming) {
        this.model = model;
        this.local = local;
        this.shared = shared;
        this.outgoing = outgoing;
        this.incoming = incoming;
    }

    /**
     * The clocks for {@code link}, zeroed (idle). Collective over all ranks when the link's NIC is per machine,
     * the machines have several GPUs and the one-sided primitives are on (a symmetric allocation, zeroed before any
     * peer can reach it).
     */
    static EmulatedLinkClocks create(InterMachineLink link, Topology topology, RankTransport join) {
        DeviceMemory local = DeviceMemory.allocate((2 + SLOTS) * WORD);
        SymmetricBlock shared = null;
        try {
            zero(local.segment());
            Optional<MemorySegment> ownerWords = Optional.empty();
            if (EmulatedLinkModel.needsSharedClock(link, topology) && join.hasOneSided()) {
                // No rank may queue on the owner's words before the owner has zeroed them.
                shared = join.allocateSymmetric(2 * WORD, "emulated link clocks", EmulatedLinkClocks::zero);
                int owner = topology.machineOf(join.rank()) * topology.gpusPerMachine();
                ownerWords = shared.peer(0, 2 * WORD, owner);
            }
            EmulatedLinkModel model = EmulatedLinkModel.of(link, topology, join.rank(), ownerWords.isPresent());
            MemorySegment clocks = ownerWords.orElse(local.slice(0, 2 * WORD));
            return new EmulatedLinkClocks(model, local, shared, clocks.asSlice(0, WORD), clocks.asSlice(WORD, WORD));
        } catch (RuntimeException | Error e) {
            local.close();
            throw e;
        }
    }

    private static void zero(MemorySegment device) {
        DeviceMemory.fill(device, (byte) 0, CudaStream.legacyDefault());
        CudaStream.legacyDefault().synchronize();
    }

    EmulatedLinkModel model() {
        return model;
    }

    /**
     * Enqueues the reservation of {@code messages} messages of {@code bytes} in all on the clock of
     * {@code direction}; none (empty) for no message.
     */
    Optional<Reservation> reserve(EmulatedLinkModel.Direction direction, long bytes, int messages, CudaStream stream) {
        if (messages == 0) {
            return Optional.empty();
        }
        long slot = 2 + Math.floorMod(nextSlot.getAndIncrement(), SLOTS);
        MemorySegment doneAt = local.slice(slot * WORD, WORD);
        LinkWait.reserve(direction == EmulatedLinkModel.Direction.OUTGOING ? outgoing : incoming, doneAt,
                model.durationNanos(bytes, messages), stream);
        return Optional.of(new Reservation(doneAt));
    }

    /** Enqueues the wait for a reservation (nothing for none). */
    void await(Optional<Reservation> reservation, CudaStream stream) {
        reservation.ifPresent(r -> LinkWait.await(r.doneAt(), stream));
    }

    /**
     * Frees the clocks once the rank's streams are drained. The shared words' free is collective
     * (like the allocation); after a failure it is left to the process's exit, like the arenas' symmetric memory.
     */
    void close(Teardown teardown, boolean collective) {
        teardown.attempt(local::close);
        if (shared != null && collective) {
            teardown.attempt(shared::close);
        }
    }
}
