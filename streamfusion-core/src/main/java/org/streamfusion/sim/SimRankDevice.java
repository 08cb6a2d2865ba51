package org.streamfusion.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.ProcessGroup;
import org.streamfusion.Topology;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Event;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.spi.Communicator;
import org.streamfusion.spi.Fp8Layout;
import org.streamfusion.spi.Kernels;
import org.streamfusion.spi.KvChunk;
import org.streamfusion.spi.QChunk;
import org.streamfusion.spi.RankBackend;
import org.streamfusion.spi.Team;
import org.streamfusion.spi.TransferChecks;

/**
 * One rank of a simulated cluster: the schedules run on it unchanged, and every call only appends an
 * op to a stream (sizes, peers, durations); the {@link Engine} resolves virtual time afterwards.
 * Public only because {@code DistributedAttention.create} takes it as a {@code RankDevice}.
 */
@SuppressWarnings("exports") // RankBackend is the library's inside; callers never see this class
final class SimRankDevice implements RankBackend {
    private final int rank;
    private final Topology topology;
    private final KernelModel model;
    private final List<SimStream> streams;
    /** Barriers per team seen by this rank, so that the k-th barrier of every member is the same one. */
    private final Map<String, Integer> barrierCounts = new HashMap<>();
    private final Kernels kernels = new SimKernels();
    private final Communicator communicator = new SimCommunicator();

    /** Whether ops keep their step names (only to name the step of a deadlock: they cost collector time). */
    private final boolean keepSteps;
    /** Ops per stream name on the ranks recorded so far: a new stream starts that large (its arrays never grow). */
    private final Map<String, Integer> sizes;
    private final List<SimStream> own = new ArrayList<>();

    SimRankDevice(int rank, Topology topology, KernelModel model, List<SimStream> streams, boolean keepSteps) {
        this(rank, topology, model, streams, keepSteps, new HashMap<>());
    }

    SimRankDevice(int rank, Topology topology, KernelModel model, List<SimStream> streams, boolean keepSteps,
            Map<String, Integer> sizes) {
        this.keepSteps = keepSteps;
        this.rank = rank;
        this.topology = topology;
        this.model = model;
        this.streams = streams;
        this.sizes = sizes;
    }

    /** Notes how many ops this rank's streams hold, for the next ranks' streams of the same names. */
    void noteSizes() {
        for (SimStream s : own) {
            sizes.merge(s.name(), s.size(), Math::max);
        }
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public Topology topology() {
        return topology;
    }

    @Override
    public DType storageType(DType requested) {
        return requested;
    }

    @Override
    public DeviceArena newArena() {
        return new DeviceArena() {
            @Override
            public Buffer allocate(long elements, DType dtype) {
                return new SimBuffer(positive(elements), dtype, false);
            }

            @Override
            public Buffer allocateSymmetric(long elements, DType dtype) {
                return new SimBuffer(positive(elements), dtype, true);
            }

            @Override
            public Stream createStream(String name) {
                SimStream s = new SimStream(rank, name, keepSteps, sizes.getOrDefault(name, 16));
                streams.add(s);
                own.add(s);
                return s;
            }

            @Override
            public Event createEvent() {
                return new SimEvent();
            }

            @Override
            public void close() {
                // Nothing is held: buffers are sizes only.
            }
        };
    }

    private static long positive(long elements) {
        if (elements <= 0) {
            throw new InvalidArgumentException("allocation of " + elements + " elements (rule: elements > 0)");
        }
        return elements;
    }

    @Override
    @SuppressWarnings("exports")
    public Communicator communicator() {
        return communicator;
    }

    @Override
    @SuppressWarnings("exports")
    public Class<SimBuffer> bufferType() {
        return SimBuffer.class;
    }

    @Override
    public boolean recordsLayers() {
        return false; // a recording of a service's layers must not count the planner's simulations
    }

    @Override
    @SuppressWarnings("exports")
    public Kernels kernels() {
        return kernels;
    }

    private final class SimKernels implements Kernels {
        @Override
        public void attention(List<QChunk> q, List<KvChunk> kv, double scale, boolean init, boolean finalize,
                Stream stream) {
            SimStream s = SimStream.of(stream);
            s.add(Op.kernel(s, "attention", model.attentionSeconds(q, kv), true));
        }

        @Override
        public void checkSupported(AttentionShape shape) {
            model.checkWidth(shape.headDim()); // throws for a width the profile cannot price
        }

        @Override
        public void copy(TensorView src, TensorView dst, Stream stream) {
            SimStream s = SimStream.of(stream);
            s.add(Op.kernel(s, "copy", model.copySeconds(src), false));
        }

        @Override
        public void finalizeState(QChunk c, Stream stream) {
            SimStream s = SimStream.of(stream);
            s.add(Op.kernel(s, "finalize", model.copySeconds(c.q()), false));
        }

        /** Reads the chunk twice (the centres, then the blocks) and writes the wire. */
        @Override
        public void quantizeFp8(Buffer src, Buffer wire, Fp8Layout layout, Buffer counts, Stream stream) {
            SimStream s = SimStream.of(stream);
            s.add(Op.kernel(s, "fp8 quantize", model.trafficSeconds(2 * src.byteSize() + wire.byteSize()), false));
        }

        @Override
        public void dequantizeFp8(Buffer wire, Buffer dst, Fp8Layout layout, Stream stream) {
            SimStream s = SimStream.of(stream);
            s.add(Op.kernel(s, "fp8 dequantize", model.trafficSeconds(wire.byteSize() + dst.byteSize()), false));
        }

        /** The simulator moves no values: no block is ever over the limit. */
        @Override
        public long[] readFp8Counts(Buffer counts) {
            return new long[2];
        }
    }

    private final class SimCommunicator implements Communicator {
        @Override
        public int rank() {
            return rank;
        }

        @Override
        public int worldSize() {
            return topology.worldSize();
        }

        @Override
        public Team team(ProcessGroup group) {
            int n = worldSize();
            for (int member : group.ranks()) {
                if (member < 0 || member >= n) { // the message is built only when it is needed: teams are many
                    TransferChecks.peer(member, n, rank, "team " + group);
                }
            }
            return () -> group;
        }

        /** The ranks {@code 0..n-1}, one array per world size in use. */
        private static final class World {
            private static volatile int[] last = new int[0];

            static int[] of(int n) {
                int[] all = last;
                if (all.length != n) {
                    all = new int[n];
                    Arrays.setAll(all, i -> i);
                    last = all;
                }
                return all;
            }

            static boolean isAll(int[] members, int n) {
                if (members == last) {
                    return true;
                }
                if (members.length != n) {
                    return false;
                }
                for (int i = 0; i < n; i++) {
                    if (members[i] != i) {
                        return false;
                    }
                }
                return true;
            }
        }

        @Override
        public void scatterPush(List<Buffer> srcs, Buffer dst, int[] pes, Stream stream, String step) {
            oneSided(Op.Kind.PUT, srcs, dst, pes, stream, step);
        }

        @Override
        public void gatherPull(List<Buffer> dsts, Buffer src, int[] pes, Stream stream, String step) {
            oneSided(Op.Kind.GET, dsts, src, pes, stream, step);
        }

        private void oneSided(Op.Kind kind, List<Buffer> local, Buffer remote, int[] pes, Stream stream, String step) {
            TransferChecks.onePerPe(local.size(), pes, worldSize(), rank, step);
            TransferChecks.symmetric(SimBuffer.of(remote, "symmetric buffer"), step);
            SimStream s = SimStream.of(stream);
            if (pes.length == 1) { // most are (a ring step's pull): packed without a descriptor
                Buffer b = SimBuffer.of(local.get(0), "buffer");
                TransferChecks.sameSize(b, remote, step);
                s.addOnePeer(kind, pes[0], b.byteSize(), step);
                return;
            }
            long[] bytes = new long[pes.length];
            for (int i = 0; i < pes.length; i++) {
                TransferChecks.sameSize(SimBuffer.of(local.get(i), "buffer"), remote, step);
                bytes[i] = local.get(i).byteSize();
            }
            s.add(Op.oneSided(kind, s, step, pes.clone(), bytes));
        }

        @Override
        public void barrier(Team team, Stream stream, String step) {
            members(team.group().ranks(), stream, step);
        }

        /** One array and name for the whole world, shared by its ranks (at 4096 ranks a copy each costs 64 MB). */
        @Override
        public void barrierAll(Stream stream, String step) {
            members(World.of(worldSize()), stream, step);
        }

        private void members(int[] members, Stream stream, String step) {
            String team = World.isAll(members, worldSize()) ? "all" : Arrays.toString(members);
            int k = barrierCounts.merge(team, 1, Integer::sum);
            SimStream s = SimStream.of(stream);
            s.add(Op.barrier(s, step, members, team + "#" + k));
        }

        @Override
        public void exchange(List<Transfer> sends, List<Transfer> recvs, Stream stream, String step) {
            int n = sends.size() + recvs.size();
            int[] peers = new int[n];
            long[] bytes = new long[n];
            int i = 0;
            for (List<Transfer> side : List.of(sends, recvs)) {
                for (Transfer x : side) {
                    TransferChecks.peer(x.peer(), worldSize(), rank, step);
                    peers[i] = x.peer();
                    bytes[i++] = SimBuffer.of(x.buffer(), "buffer").byteSize();
                }
            }
            SimStream s = SimStream.of(stream);
            int lane = Communicator.RING_LANE.equals(stream.name()) ? 1 : 0;
            s.add(Op.exchange(s, step, peers, bytes, sends.size(), lane));
        }
    }
}
