package org.streamfusion.schedule;

import org.streamfusion.DType;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.LinkCompression;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Stream;
import org.streamfusion.spi.Fp8Wire;
import org.streamfusion.spi.Kernels;
import org.streamfusion.spi.RankBackend;

/**
 * A plan's e4m3 inter-machine links (docs/algorithms.md, section 7): which peers sit across a machine
 * boundary, wire buffers, and the kernels that fill and empty them. One scale per block of {@code D}
 * elements: one head of one token. Present only when the plan asks for FP8 and its topology has more than
 * one machine, the same on every rank.
 */
final class Fp8Links {
    private final Topology topology;
    private final int rank;
    private final Kernels kernels;
    private final DeviceArena arena;
    private final int block;

    private Fp8Links(Topology topology, int rank, Kernels kernels, DeviceArena arena, int block) {
        this.topology = topology;
        this.rank = rank;
        this.kernels = kernels;
        this.arena = arena;
        this.block = block;
    }

    /** The links of {@code plan} on {@code device}, or {@code null} when nothing is compressed. */
    static Fp8Links of(Plan plan, RankBackend device, Kernels kernels, DeviceArena arena) {
        if (plan.interMachine() == LinkCompression.NONE || device.topology().machines() == 1) {
            return null;
        }
        return new Fp8Links(device.topology(), device.rank(), kernels, arena, plan.shape().headDim());
    }

    /** Whether a transfer between this rank and {@code peer} crosses a machine boundary. */
    boolean crosses(int peer) {
        return topology.machineOf(peer) != topology.machineOf(rank);
    }

    /** Whether a transfer between {@code a} and {@code b} crosses a machine boundary. */
    boolean crosses(int a, int b) {
        return topology.machineOf(a) != topology.machineOf(b);
    }

    /** {@code count} wires, each for a tensor chunk of {@code chunkElements}, back to back. */
    WireChunks allocate(int count, long chunkElements, boolean symmetric) {
        long each = Fp8Wire.elements(chunkElements, block);
        long n = count * each;
        Buffer b = symmetric ? arena.allocateSymmetric(n, DType.F32) : arena.allocate(n, DType.F32);
        return new WireChunks(b, count, each);
    }

    /** A local wire buffer of {@code wireElements} fp32 elements ({@link #wireElements}). */
    Buffer allocateWire(long wireElements) {
        return arena.allocate(wireElements, DType.F32);
    }

    /** The wire elements of a tensor of {@code elements}. */
    long wireElements(long elements) {
        return Fp8Wire.elements(elements, block);
    }

    void quantize(Buffer src, Buffer wire, Stream stream) {
        kernels.quantizeFp8(src, wire, block, stream);
    }

    void dequantize(Buffer wire, Buffer dst, Stream stream) {
        kernels.dequantizeFp8(wire, dst, block, stream);
    }

    /** {@code count} wires of {@code wireElements} each: the wire of tensor chunk {@code i} is {@link #chunk}. */
    record WireChunks(Buffer buffer, int count, long wireElements) {
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
