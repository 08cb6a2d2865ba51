package org.streamfusion.schedule;

import org.streamfusion.InvalidStateException;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.streamfusion.ProcessGroup;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.Stream;
import org.streamfusion.spi.Communicator;
import org.streamfusion.spi.Fp8Layout;
import org.streamfusion.spi.Team;

/**
 * Two-sided transfers that cross a machine boundary carry e4m3 (docs/algorithms.md, section 7): each such
 * send is quantized into a staging wire before the group and each such receive lands in one and is
 * dequantized after it, on the same stream; every other transfer, and every one-sided primitive, passes
 * through unchanged (the one-sided torus compresses its own, {@link OneSidedTorus}).
 *
 * <p>Staging is taken in issue order from one pool per stream and reused by the next layer, which reaches
 * the same buffer in the same stream order, so after the first layer a forward allocates nothing.
 */
final class Fp8Communicator implements Communicator {
    private final Communicator inner;
    private final Fp8Links links;
    private final Map<Stream, Pool> pools = new IdentityHashMap<>();

    Fp8Communicator(Communicator inner, Fp8Links links) {
        this.inner = inner;
        this.links = links;
    }

    /** The next layer starts: every pool hands out its buffers again from the first. */
    void beginLayer() {
        for (Pool p : pools.values()) {
            p.next = 0;
        }
    }

    @Override
    public void exchange(List<Transfer> sends, List<Transfer> recvs, Stream stream, String step) {
        Pool pool = pools.computeIfAbsent(stream, s -> new Pool());
        boolean compressed = false;
        List<Transfer> wireSends = new ArrayList<>(sends.size());
        for (Transfer t : sends) {
            if (links.crosses(t.peer())) {
                compressed = true;
                Fp8Layout layout = layout(t, step);
                Buffer wire = pool.take(layout.wireElements());
                links.quantize(t.buffer(), wire, layout, stream);
                wireSends.add(new Transfer(t.peer(), wire));
            } else {
                wireSends.add(t);
            }
        }
        List<Transfer> wireRecvs = new ArrayList<>(recvs.size());
        List<Transfer> landed = new ArrayList<>();
        for (Transfer t : recvs) {
            if (links.crosses(t.peer())) {
                compressed = true;
                Fp8Layout layout = layout(t, step);
                Buffer wire = pool.take(layout.wireElements());
                wireRecvs.add(new Transfer(t.peer(), wire));
                landed.add(new Transfer(t.peer(), wire, t.rowElements()));
            } else {
                wireRecvs.add(t);
            }
        }
        inner.exchange(wireSends, wireRecvs, stream, compressed ? step + " (fp8)" : step);
        int i = 0;
        for (Transfer t : recvs) {
            if (links.crosses(t.peer())) {
                links.dequantize(landed.get(i++).buffer(), t.buffer(), layout(t, step), stream);
            }
        }
    }

    /** The wire of a machine-crossing transfer, which must name its rows. */
    private Fp8Layout layout(Transfer t, String step) {
        if (t.rowElements() == 0) {
            throw new InvalidStateException("step '" + step + "': a transfer with rank " + t.peer()
                    + " crosses machines in e4m3 without naming its rows (heads times D)");
        }
        return links.layout(t.buffer().length(), t.rowElements());
    }

    /** Staging wires of one stream, in the order the schedule asks for them. */
    private final class Pool {
        private final List<Buffer> buffers = new ArrayList<>();
        private int next;

        Buffer take(long elements) {
            if (next < buffers.size() && buffers.get(next).length() >= elements) {
                return buffers.get(next++).slice(0, elements);
            }
            Buffer b = links.allocateWire(elements);
            if (next < buffers.size()) {
                buffers.set(next, b); // a larger transfer at this position: only if the schedule changed shape
            } else {
                buffers.add(b);
            }
            next++;
            return b.slice(0, elements);
        }
    }

    @Override
    public int rank() {
        return inner.rank();
    }

    @Override
    public int worldSize() {
        return inner.worldSize();
    }

    @Override
    public Team team(ProcessGroup group) {
        return inner.team(group);
    }

    @Override
    public void scatterPush(List<Buffer> srcs, Buffer dst, int[] pes, Stream stream, String step) {
        inner.scatterPush(srcs, dst, pes, stream, step);
    }

    @Override
    public void gatherPull(List<Buffer> dsts, Buffer src, int[] pes, Stream stream, String step) {
        inner.gatherPull(dsts, src, pes, stream, step);
    }

    @Override
    public void barrier(Team team, Stream stream, String step) {
        inner.barrier(team, stream, step);
    }

    @Override
    public void barrierAll(Stream stream, String step) {
        inner.barrierAll(stream, step);
    }
}
