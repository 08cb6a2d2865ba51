package org.streamfusion.schedule;

import java.util.List;
import org.streamfusion.backend.Event;
import org.streamfusion.backend.Stream;
import org.streamfusion.spi.Chunks;
import org.streamfusion.spi.Communicator;

/**
 * How Torus attention's bytes move: the seam between the schedule's stages and the transport
 * (docs/algorithms.md, section 4). {@link OneSidedTorus} is StreamFusion proper (ScatterPush,
 * GatherPull, Barrier, BarrierAll); {@link TwoSidedTorus} runs the same stages on grouped send/recv
 * (TORUS_TWO_SIDED). Every call is stream-ordered on the comm stream unless it says otherwise.
 *
 * <p>Layouts, each chunk a packed {@code [B, R, Ht, D]} (R the longest shard's rows): {@code X1[s*u' + j]} holds heads {@code H_{a,s}}
 * of the tokens of GPU {@code (l, j, b)}; {@code T[c*u' + j]} is torus chunk {@code c} pulled from GPU
 * {@code (c, a, b)}; {@code ORet[a'*t + l']} holds this GPU's tokens, heads {@code H_{a',l'}}.
 */
interface TorusTransport {
    /**
     * What a transport is made from, once the schedule's streams exist. {@code fp8} is {@code null} unless
     * the plan compresses inter-machine transfers; every chunk of the workspace holds {@code chunkElements}, in
     * rows of {@code rowElements} (its heads times D).
     */
    record Context(TorusPosition at, Communicator comm, Stream commStream, Stream ringStream, Fp8Links fp8,
            long chunkElements, int rowElements) {
    }

    /** "SFU" or "TORUS2": the prefix of every step name. */
    String name();

    /** Whether peers address X1, T and ORet directly, so they must be symmetric memory. */
    boolean symmetricWorkspace();

    /** The ring's transport for the Pull Q and Pull KV stages. */
    RingTransport ring();

    /**
     * Step 1 for the tensors {@code firstTensor + i} (0 = Q, 1 = K, 2 = V), in one call: {@code packed.get(i)[a'*t + s]}
     * (heads {@code H_{a',s}} of this GPU's tokens) goes to {@code x1.get(i)[s*u' + a]} of intra-machine member {@code a'}.
     */
    void scatterIntraMachine(int firstTensor, List<Chunks> packed, List<Chunks> x1, String step);

    /** After step 1 for Q, K and V: every GPU's X1 is complete and peers may read it. */
    void intraMachineComplete(String step);

    /**
     * Step 2, torus stage {@code shift}: torus chunk {@code c = (l + shift) mod t} of each tensor, heads
     * {@code H_{a,l}}, from GPU {@code (c, a, b)}'s X1 into {@code T[c*u' ..]}; {@code x1.get(i)} is tensor
     * {@code firstTensor + i}.
     */
    void torusShift(int shift, int firstTensor, List<Chunks> x1, List<Chunks> pulled, String step);

    /** On the ring stream, before a Pull KV stage: every ring member's pulled chunk is complete. */
    void ringBlocksReady(String step);

    /**
     * Step 5: each finished chunk {@code c} ({@code order.get(g)}, written once {@code finished.get(g)}
     * completes) to its home GPUs {@code (c, j, b)}, into their {@code ORet[a*t + l]}.
     */
    void pushOutputs(List<Integer> order, List<Event> finished, List<Chunks> out, Chunks outputsHome, String step);

    /** Step 6: every O chunk that another GPU pushed here has arrived in {@code outputsHome}. */
    void outputsHome(Chunks outputsHome, String step);
}
