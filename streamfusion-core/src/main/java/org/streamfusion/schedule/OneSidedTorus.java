package org.streamfusion.schedule;

import java.util.ArrayList;
import java.util.List;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.Event;
import org.streamfusion.backend.Stream;
import org.streamfusion.spi.Chunks;
import org.streamfusion.spi.Communicator;
import org.streamfusion.spi.Team;

/** StreamFusion's transport: ScatterPush, GatherPull, the ring Barrier and BarrierAll (docs/algorithms.md, section 5). */
final class OneSidedTorus implements TorusTransport {
    private final TorusPosition at;
    private final Communicator comm;
    private final Stream commStream;
    private final Stream ringStream;
    private final Team ringTeam;

    /** Collective: every rank creates every ring team, in the same order. */
    OneSidedTorus(TorusPosition at, Communicator comm, Stream commStream, Stream ringStream) {
        this.at = at;
        this.comm = comm;
        this.commStream = commStream;
        this.ringStream = ringStream;
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
    public void scatterIntraMachine(Chunks packed, Chunks x1, String step) {
        int t = at.torusDegree();
        int u = at.ulyssesDegree();
        for (int headGroup = 0; headGroup < t; headGroup++) {
            List<Buffer> srcs = new ArrayList<>(u);
            for (int member = 0; member < u; member++) {
                srcs.add(packed.chunkBuffer(member * t + headGroup));
            }
            comm.scatterPush(srcs, x1.chunkBuffer(headGroup * u + at.ulyssesIndex()), at.intraMachine().ranks(),
                    commStream, step + " ScatterPush");
        }
    }

    @Override
    public void intraMachineComplete(String step) {
        comm.barrierAll(commStream, step);
    }

    @Override
    public void torusShift(int shift, List<Chunks> x1, List<Chunks> pulled, String step) {
        int u = at.ulyssesDegree();
        int chunk = at.torusIndexAfter(shift);
        int from = at.torus().member(chunk);
        for (int i = 0; i < x1.size(); i++) {
            comm.gatherPull(List.of(pulled.get(i).range(chunk * u, u).region()),
                    x1.get(i).range(at.torusIndex() * u, u).region(), new int[] {from}, commStream, step + " GatherPull");
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
        Buffer home = outputsHome.chunkBuffer(at.ulyssesIndex() * at.torusDegree() + at.torusIndex());
        for (int g = 0; g < order.size(); g++) {
            int chunk = order.get(g);
            commStream.waitFor(finished.get(g));
            List<Buffer> srcs = new ArrayList<>(u);
            int[] pes = new int[u];
            for (int member = 0; member < u; member++) {
                srcs.add(out.get(chunk).chunkBuffer(member));
                pes[member] = at.rankAt(chunk, member);
            }
            comm.scatterPush(srcs, home, pes, commStream, step + " chunk " + chunk);
        }
    }

    @Override
    public void outputsHome(String step) {
        comm.barrierAll(commStream, step);
    }
}
