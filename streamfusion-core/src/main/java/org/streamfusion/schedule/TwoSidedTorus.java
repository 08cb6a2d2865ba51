package org.streamfusion.schedule;

import java.util.ArrayList;
import java.util.List;
import org.streamfusion.backend.Event;
import org.streamfusion.backend.Stream;
import org.streamfusion.spi.Chunks;
import org.streamfusion.spi.Communicator;
import org.streamfusion.spi.Communicator.Transfer;

/**
 * TORUS_TWO_SIDED's transport: the torus stages on grouped send/recv. A receive completes the data it
 * names, so no barrier is needed where the one-sided form has one. Inter-machine FP8, when the plan asks
 * for it, is the communicator's ({@link Fp8Communicator}).
 */
final class TwoSidedTorus implements TorusTransport {
    private final TorusPosition at;
    private final Communicator comm;
    private final Stream commStream;

    TwoSidedTorus(TorusPosition at, Communicator comm, Stream commStream) {
        this.at = at;
        this.comm = comm;
        this.commStream = commStream;
    }

    @Override
    public String name() {
        return "TORUS2";
    }

    @Override
    public boolean symmetricWorkspace() {
        return false;
    }

    @Override
    public RingTransport ring() {
        return RingTransport.pass(comm);
    }

    @Override
    public void scatterIntraMachine(int firstTensor, List<Chunks> packed, List<Chunks> x1, String step) {
        int t = at.torusDegree();
        int u = at.ulyssesDegree();
        List<Transfer> sends = new ArrayList<>();
        List<Transfer> recvs = new ArrayList<>();
        for (int i = 0; i < packed.size(); i++) {
            for (int member = 0; member < u; member++) {
                for (int headGroup = 0; headGroup < t; headGroup++) {
                    int peer = at.intraMachine().member(member);
                    sends.add(new Transfer(peer, packed.get(i).chunkBuffer(member * t + headGroup), packed.get(i).rowElements()));
                    recvs.add(new Transfer(peer, x1.get(i).chunkBuffer(headGroup * u + member), x1.get(i).rowElements()));
                }
            }
        }
        comm.exchange(sends, recvs, commStream, step + " all-to-all");
    }

    @Override
    public void intraMachineComplete(String step) {
        // Each receive above completed its chunk.
    }

    /** The shift-by-{@code shift} permutation: send our copy of sub-group {@code l - shift}, receive {@code l + shift}. */
    @Override
    public void torusShift(int shift, int firstTensor, List<Chunks> x1, List<Chunks> pulled, String step) {
        int u = at.ulyssesDegree();
        int chunk = at.torusIndexAfter(shift);
        int to = at.torusIndexAfter(-shift);
        List<Transfer> sends = new ArrayList<>();
        List<Transfer> recvs = new ArrayList<>();
        for (int i = 0; i < x1.size(); i++) {
            sends.add(new Transfer(at.torus().member(to), x1.get(i).range(to * u, u).region(), x1.get(i).rowElements()));
            recvs.add(new Transfer(at.torus().member(chunk), pulled.get(i).range(chunk * u, u).region(),
                    pulled.get(i).rowElements()));
        }
        comm.exchange(sends, recvs, commStream, step + " send/recv");
    }

    @Override
    public void ringBlocksReady(String step) {
        // The pass-form ring sends a block only after it arrived on this rank, in stream order.
    }

    /** One grouped exchange once every chunk is finished: the home GPUs receive in the same group. */
    @Override
    public void pushOutputs(List<Integer> order, List<Event> finished, List<Chunks> out, Chunks outputsHome,
            String step) {
        for (Event e : finished) {
            commStream.waitFor(e);
        }
        int t = at.torusDegree();
        List<Transfer> sends = new ArrayList<>();
        List<Transfer> recvs = new ArrayList<>();
        for (int chunk = 0; chunk < t; chunk++) {
            for (int member = 0; member < at.ulyssesDegree(); member++) {
                sends.add(new Transfer(at.rankAt(chunk, member), out.get(chunk).chunkBuffer(member), out.get(chunk).rowElements()));
                recvs.add(new Transfer(at.rankAt(chunk, member), outputsHome.chunkBuffer(member * t + chunk),
                        outputsHome.rowElements()));
            }
        }
        comm.exchange(sends, recvs, commStream, step);
    }

    @Override
    public void outputsHome(Chunks outputsHome, String step) {
        // The exchange's receives completed every O chunk.
    }
}
