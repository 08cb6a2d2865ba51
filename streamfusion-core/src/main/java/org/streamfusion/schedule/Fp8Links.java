package org.streamfusion.schedule;

import org.streamfusion.DType;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.LinkCompression;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Stream;
import org.streamfusion.spi.Fp8Layout;
import org.streamfusion.spi.Kernels;
import org.streamfusion.spi.RankBackend;

/**
 * A plan's e4m3 inter-machine links (docs/algorithms.md, section 7): which peers sit across a machine
 * boundary, wire buffers, and the kernels that fill and empty them. Centred wires ({@link Fp8Layout}): one
 * scale per block of {@code D} elements (one head of one token), one centre per channel of a chunk. Present
 * only when the plan asks for FP8 and its topology has more than one machine, the same on every rank.
 *
 * <p>The kernels add the blocks they send in bf16, and those over the limit that found no slot, to two
 * counters that are never reset: the layer event reports what changed since its previous reading.
 */
final class Fp8Links {
    private final Topology topology;
    private final int rank;
    private final Kernels kernels;
    private final DeviceArena arena;
    private final int block;
    private final double softmaxScale;
    private final Buffer counts;
    private long[] lastCounts;

    private Fp8Links(Topology topology, int rank, Kernels kernels, DeviceArena arena, int block, double softmaxScale) {
        this.topology = topology;
        this.rank = rank;
        this.kernels = kernels;
        this.arena = arena;
        this.block = block;
        this.softmaxScale = softmaxScale;
        this.counts = arena.allocate(2, DType.F64);
        this.lastCounts = kernels.readFp8Counts(counts); // whatever the memory held: only differences are read
    }

    /** The links of {@code plan} on {@code device}, or {@code null} when nothing is compressed. */
    static Fp8Links of(Plan plan, RankBackend device, Kernels kernels, DeviceArena arena) {
        if (plan.interMachine() == LinkCompression.NONE || device.topology().machines() == 1) {
            return null;
        }
        return new Fp8Links(device.topology(), device.rank(), kernels, arena, plan.shape().headDim(),
                plan.shape().softmaxScale());
    }

    /** Whether a transfer between this rank and {@code peer} crosses a machine boundary. */
    boolean crosses(int peer) {
        return topology.machineOf(peer) != topology.machineOf(rank);
    }

    /** Whether a transfer between {@code a} and {@code b} crosses a machine boundary. */
    boolean crosses(int a, int b) {
        return topology.machineOf(a) != topology.machineOf(b);
    }

    /** {@code count} wires, each for a tensor chunk of {@code chunkElements} in rows of {@code rowElements}, back to back. */
    WireChunks allocate(int count, long chunkElements, int rowElements, boolean symmetric) {
        Fp8Layout layout = layout(chunkElements, rowElements);
        long each = layout.wireElements();
        long n = count * each;
        Buffer b = symmetric ? arena.allocateSymmetric(n, DType.F32) : arena.allocate(n, DType.F32);
        return new WireChunks(b, count, each, layout);
    }

    /** A local wire buffer of {@code wireElements} fp32 elements ({@link #layout}). */
    Buffer allocateWire(long wireElements) {
        return arena.allocate(wireElements, DType.F32);
    }

    /** The wire of a tensor chunk of {@code elements} in rows of {@code rowElements}. */
    Fp8Layout layout(long elements, int rowElements) {
        return new Fp8Layout(elements, block, rowElements, softmaxScale);
    }

    void quantize(Buffer src, Buffer wire, Fp8Layout layout, Stream stream) {
        kernels.quantizeFp8(src, wire, layout, counts, stream);
    }

    void dequantize(Buffer wire, Buffer dst, Fp8Layout layout, Stream stream) {
        kernels.dequantizeFp8(wire, dst, layout, stream);
    }

    /**
     * Blocks sent in bf16 and blocks over the limit left in e4m3 since the previous call; the caller has
     * synchronized every stream that quantizes.
     */
    long[] countsSinceLastRead() {
        long[] now = kernels.readFp8Counts(counts);
        long[] since = {now[0] - lastCounts[0], now[1] - lastCounts[1]};
        lastCounts = now;
        return since;
    }

    /** {@code count} wires of {@code wireElements} each: the wire of tensor chunk {@code i} is {@link #chunk}. */
    record WireChunks(Buffer buffer, int count, long wireElements, Fp8Layout layout) {
        Buffer chunk(int i) {
            return range(i, 1);
        }

        /** The wires of chunks {@code [from, from + n)}: one contiguous region, so one transfer moves them. */
        Buffer range(int from, int n) {
            if (from < 0 || n <= 0 || from + n > count) {
                throw new InvalidArgumentException("wires [" + from + ", " + (from + n) + ") of " + count);
            }
            return buffer.slice(from * wireElements, n * wireElements);
        }
    }
}
