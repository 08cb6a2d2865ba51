package org.streamfusion.schedule;

import java.util.ArrayList;
import java.util.List;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.Event;
import org.streamfusion.backend.Stream;
import org.streamfusion.schedule.Fp8Links.WireChunks;
import org.streamfusion.spi.Chunks;
import org.streamfusion.spi.Communicator;
import org.streamfusion.spi.Team;

/**
 * StreamFusion's transport: ScatterPush, GatherPull, the ring Barrier and BarrierAll (docs/algorithms.md, section 5).
 *
 * <p>With inter-machine FP8 (section 7) every X1 and ORet chunk has a symmetric e4m3 shadow. Step 1 pushes
 * each packed chunk that a GPU on another machine will pull in e4m3 as well, so the torus GatherPull reads
 * the shadow and dequantizes, with no barrier beyond the existing one; Push O sends a chunk bound for
 * another machine in e4m3 and its home dequantizes it after the closing BarrierAll. Ring pulls are not
 * compressed (the ring lies inside a machine on the meshes the planner favours).
 */
final class OneSidedTorus implements TorusTransport {
    private final TorusPosition at;
    private final Communicator comm;
    private final Stream commStream;
    private final Stream ringStream;
    private final Team ringTeam;
    /** {@code null} unless the plan compresses inter-machine transfers. */
    private final Fp8Links fp8;
    /** The e4m3 shadows: of X1 per tensor and of ORet (symmetric); of packed, T and the O chunks (local). */
    private final WireChunks[] x1Wire = new WireChunks[3];
    private final WireChunks[] pulledWire = new WireChunks[3];
    private final WireChunks packedWire;
    private final WireChunks outWire;
    private final WireChunks homeWire;

    /** Collective: every rank creates every ring team, and the FP8 shadows, in the same order. */
    OneSidedTorus(Context c) {
        this.at = c.at();
        this.comm = c.comm();
        this.commStream = c.commStream();
        this.ringStream = c.ringStream();
        this.fp8 = c.fp8();
        Team mine = null;
        for (int torusIndex = 0; torusIndex < at.torusDegree(); torusIndex++) {
            for (int ulyssesIndex = 0; ulyssesIndex < at.ulyssesDegree(); ulyssesIndex++) {
                Team team = comm.team(at.mesh().ringGroup(at.mesh().rankOf(torusIndex, ulyssesIndex, 0)));
                if (torusIndex == at.torusIndex() && ulyssesIndex == at.ulyssesIndex()) {
                    mine = team;
                }
            }
        }
        this.ringTeam = mine;
        int chunks = at.torusDegree() * at.ulyssesDegree();
        if (fp8 != null) {
            for (int tensor = 0; tensor < 3; tensor++) {
                x1Wire[tensor] = fp8.allocate(chunks, c.chunkElements(), c.rowElements(), true);
                pulledWire[tensor] = fp8.allocate(chunks, c.chunkElements(), c.rowElements(), false);
            }
            packedWire = fp8.allocate(chunks, c.chunkElements(), c.rowElements(), false);
            outWire = fp8.allocate(chunks, c.chunkElements(), c.rowElements(), false);
            homeWire = fp8.allocate(chunks, c.chunkElements(), c.rowElements(), true);
        } else {
            packedWire = null;
            outWire = null;
            homeWire = null;
        }
    }

    @Override
    public String name() {
        return "SFU";
    }

    @Override
    public boolean symmetricWorkspace() {
        return true;
    }

    @Override
    public RingTransport ring() {
        return RingTransport.pull(comm);
    }

    @Override
    public void scatterIntraMachine(int firstTensor, List<Chunks> packedTensors, List<Chunks> x1Tensors, String step) {
        for (int i = 0; i < packedTensors.size(); i++) {
            scatterIntraMachine(firstTensor + i, packedTensors.get(i), x1Tensors.get(i), step);
        }
    }

    private void scatterIntraMachine(int tensor, Chunks packed, Chunks x1, String step) {
        int t = at.torusDegree();
        int u = at.ulyssesDegree();
        for (int headGroup = 0; headGroup < t; headGroup++) {
            List<Buffer> srcs = new ArrayList<>(u);
            for (int member = 0; member < u; member++) {
                srcs.add(packed.chunkBuffer(member * t + headGroup));
            }
            int into = headGroup * u + at.ulyssesIndex();
            comm.scatterPush(srcs, x1.chunkBuffer(into), at.intraMachine().ranks(), commStream, step + " ScatterPush");
            if (fp8 == null) {
                continue;
            }
            // Member a' will serve this chunk to torus member headGroup's GPU (headGroup, a', b).
            for (int member = 0; member < u; member++) {
                int receiver = at.rankAt(at.torusIndex(), member);
                if (fp8.crosses(receiver, at.rankAt(headGroup, member))) {
                    Buffer wire = packedWire.chunk(member * t + headGroup);
                    fp8.quantize(srcs.get(member), wire, packedWire.layout(), commStream);
                    comm.scatterPush(List.of(wire), x1Wire[tensor].chunk(into), new int[] {receiver}, commStream,
                            step + " ScatterPush e4m3 shadow");
                }
            }
        }
    }

    @Override
    public void intraMachineComplete(String step) {
        comm.barrierAll(commStream, step);
    }

    @Override
    public void torusShift(int shift, int firstTensor, List<Chunks> x1, List<Chunks> pulled, String step) {
        int u = at.ulyssesDegree();
        int chunk = at.torusIndexAfter(shift);
        int from = at.torus().member(chunk);
        for (int i = 0; i < x1.size(); i++) {
            if (fp8 != null && fp8.crosses(from)) {
                int tensor = firstTensor + i;
                Buffer landed = pulledWire[tensor].range(chunk * u, u);
                comm.gatherPull(List.of(landed), x1Wire[tensor].range(at.torusIndex() * u, u), new int[] {from},
                        commStream, step + " GatherPull e4m3");
                for (int j = 0; j < u; j++) {
                    fp8.dequantize(pulledWire[tensor].chunk(chunk * u + j), pulled.get(i).chunkBuffer(chunk * u + j),
                            pulledWire[tensor].layout(), commStream);
                }
            } else {
                comm.gatherPull(List.of(pulled.get(i).range(chunk * u, u).region()),
                        x1.get(i).range(at.torusIndex() * u, u).region(), new int[] {from}, commStream,
                        step + " GatherPull");
            }
        }
    }

    @Override
    public void ringBlocksReady(String step) {
        comm.barrier(ringTeam, ringStream, step);
    }

    @Override
    public void pushOutputs(List<Integer> order, List<Event> finished, List<Chunks> out, Chunks outputsHome,
            String step) {
        int u = at.ulyssesDegree();
        int home = at.ulyssesIndex() * at.torusDegree() + at.torusIndex();
        for (int g = 0; g < order.size(); g++) {
            int chunk = order.get(g);
            commStream.waitFor(finished.get(g));
            List<Buffer> srcs = new ArrayList<>(u);
            List<Integer> pes = new ArrayList<>(u);
            for (int member = 0; member < u; member++) {
                int pe = at.rankAt(chunk, member);
                Buffer o = out.get(chunk).chunkBuffer(member);
                if (fp8 != null && fp8.crosses(pe)) {
                    Buffer wire = outWire.chunk(chunk * u + member);
                    fp8.quantize(o, wire, outWire.layout(), commStream);
                    comm.scatterPush(List.of(wire), homeWire.chunk(home), new int[] {pe}, commStream,
                            step + " chunk " + chunk + " e4m3");
                } else {
                    srcs.add(o);
                    pes.add(pe);
                }
            }
            if (!srcs.isEmpty()) {
                comm.scatterPush(srcs, outputsHome.chunkBuffer(home), pes.stream().mapToInt(Integer::intValue).toArray(),
                        commStream, step + " chunk " + chunk);
            }
        }
    }

    /** After the closing BarrierAll, the ORet chunks that came in e4m3 are dequantized in place. */
    @Override
    public void outputsHome(Chunks outputsHome, String step) {
        comm.barrierAll(commStream, step);
        if (fp8 == null) {
            return;
        }
        int t = at.torusDegree();
        for (int member = 0; member < at.ulyssesDegree(); member++) {
            for (int headGroup = 0; headGroup < t; headGroup++) {
                if (fp8.crosses(at.rankAt(headGroup, member))) {
                    // ORet[a'*t + l'] is pushed by (l', a', b); its shadow and its chunk have the same index.
                    fp8.dequantize(homeWire.chunk(member * t + headGroup), outputsHome.chunkBuffer(member * t + headGroup),
                            homeWire.layout(), commStream);
                }
            }
        }
    }
}
