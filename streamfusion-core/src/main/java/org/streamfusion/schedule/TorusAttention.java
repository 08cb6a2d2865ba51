package org.streamfusion.schedule;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.JointText;
import org.streamfusion.Plan;
import org.streamfusion.backend.Event;
import org.streamfusion.backend.TensorView;
import org.streamfusion.spi.AttentionState;
import org.streamfusion.spi.Chunks;
import org.streamfusion.spi.RankBackend;

/**
 * Torus attention on the mesh {@code (t, u', r)} (docs/algorithms.md, section 4), for GPU
 * {@code (l, a, b)}: the intra-machine scatter of Q, K, V; every torus transfer issued at once; Pull Q
 * stages ({@code Q[c]} against the stationary K, V chunk {@code l} over the ring); Pull KV stages (all Q
 * chunks against K, V chunk {@code c}); Push O as each chunk is finalised; the closing barrier. Written
 * once: the {@link TorusTransport} moves the bytes, one-sided (STREAMFUSION) or two-sided
 * (TORUS_TWO_SIDED).
 *
 * <p>Push O writes each finished chunk straight to its home GPU {@code (c, j, b)}: that is the torus
 * return and the reverse intra-machine Ulysses in one transfer, so the layer needs no machine-crossing
 * barrier between them, only the two at its start and end.
 */
final class TorusAttention extends ScheduledAttention {
    /** Makes the transport once the schedule's streams exist. */
    interface TransportFactory {
        TorusTransport create(TorusTransport.Context context);
    }

    private static final String TENSORS = "QKV";
    private final TorusTransport transport;
    private final TorusPosition at;
    /** {@code Ht = H/(t*u')}: the heads of one torus chunk. */
    private final int headsPerChunk;
    /** Step 1's packing: one buffer reused by Q, K, V, or one each when they go in one exchange (QkvExchange). */
    private final List<Chunks> packed = new ArrayList<>(3);
    /** Q, K, V after the intra-machine step: {@code X1[s*u' + j]}. */
    private final List<Chunks> afterScatter = new ArrayList<>();
    /** Q, K, V torus chunks pulled from the other machines: {@code T[c*u' + j]}. */
    private final List<Chunks> pulled = new ArrayList<>();
    private final List<Chunks> out = new ArrayList<>();
    private final List<List<AttentionState>> states = new ArrayList<>();
    /** {@code ORet[a'*t + l']}: this GPU's tokens, heads {@code H_{a',l'}}, pushed home by {@code (l', a', b)}. */
    private final Chunks outputsHome;
    private final RingAttn ring;
    private final Event entry;
    private final Event scattered;
    private final Event[] queryArrived;
    private final Event[] keyValueArrived;
    private final Event computeDone;
    private final Event ringDone;
    private final Event done;
    /** The joint text segment ({@code null} without one): Q slice {@code H_{a,l}}, and the chunks' own finalisation. */
    private final JointSegment joint;
    private final Event[] chunkFinalised;

    TorusAttention(Plan plan, RankBackend device, TransportFactory transports) {
        super(plan, device);
        AttentionShape shape = plan.shape();
        at = TorusPosition.of(plan.mesh(), device.rank());
        int t = at.torusDegree();
        int u = at.ulyssesDegree();
        headsPerChunk = shape.heads() / (t * u);
        int rows = plan.localSeqLen();
        DType dtype = device.storageType(shape.dtype());
        try {
            long chunkElements = (long) shape.batch() * rows * headsPerChunk * shape.headDim();
            transport = transports.create(new TorusTransport.Context(at, comm, commStream, ringStream, fp8,
                    chunkElements, headsPerChunk * shape.headDim()));
            boolean symmetric = transport.symmetricWorkspace();
            // Chunks are the longest shard's rows; each holds the real rows of the GPU whose tokens it carries.
            int[] mine = rowsOf(device.rank(), u * t);
            int[] byChunk = new int[t * u]; // T[c*u' + j] and X1[s*u' + j]: tokens of GPU (c or l, j, b)
            int[] stationary = new int[t * u];
            for (int c = 0; c < t; c++) {
                for (int j = 0; j < u; j++) {
                    byChunk[c * u + j] = plan.shardRows(at.rankAt(c, j));
                    stationary[c * u + j] = plan.shardRows(at.rankAt(at.torusIndex(), j));
                }
            }
            boolean grouped = plan.groupsQkv(dtype); // never for the one-sided form
            for (int tensor = 0; tensor < (grouped ? 3 : 1); tensor++) {
                packed.add(Chunks.allocate(arena, false, dtype, u * t, shape.batch(), rows, headsPerChunk,
                        shape.headDim()).withValidRows(mine));
            }
            for (int tensor = 0; tensor < 3; tensor++) {
                afterScatter.add(Chunks.allocate(arena, symmetric, dtype, t * u, shape.batch(), rows, headsPerChunk,
                        shape.headDim()).withValidRows(stationary));
                pulled.add(Chunks.allocate(arena, symmetric, dtype, t * u, shape.batch(), rows, headsPerChunk,
                        shape.headDim()).withValidRows(byChunk));
            }
            for (int chunk = 0; chunk < t; chunk++) {
                out.add(Chunks.allocate(arena, false, dtype, u, shape.batch(), rows, headsPerChunk, shape.headDim())
                        .withValidRows(Arrays.copyOfRange(byChunk, chunk * u, chunk * u + u)));
                states.add(AttentionState.allocate(arena, out.get(chunk)));
            }
            outputsHome = Chunks.allocate(arena, symmetric, dtype, u * t, shape.batch(), rows, headsPerChunk,
                    shape.headDim()).withValidRows(mine);
            long block = afterScatter.get(0).range(0, u).region().length();
            ring = new RingAttn(at.ring(), device.rank(), arena, transport.ring(), kernels, compute, ringStream,
                    shape.softmaxScale(), block, dtype);
            entry = arena.createEvent();
            scattered = arena.createEvent();
            queryArrived = new Event[t];
            keyValueArrived = new Event[t];
            for (int chunk = 0; chunk < t; chunk++) {
                queryArrived[chunk] = arena.createEvent();
                keyValueArrived[chunk] = arena.createEvent();
            }
            if (plan.jointTextRows() > 0) {
                // GPU (l, a, b) attends for heads H_{a,l}; ring position b computes its share of the text rows.
                int r = plan.mesh().ring();
                int[][] sources = new int[t * u][r];
                int[] offsets = new int[t * u];
                for (int l = 0; l < t; l++) {
                    for (int a = 0; a < u; a++) {
                        offsets[l * u + a] = headOffset(a, l);
                        for (int p = 0; p < r; p++) {
                            sources[l * u + a][p] = plan.mesh().rankOf(l, a, p);
                        }
                    }
                }
                joint = new JointSegment(plan, arena, dtype, kernels, device.communicator(),
                        headOffset(at.ulyssesIndex(), at.torusIndex()), headsPerChunk, at.ringIndex(), sources, offsets);
                chunkFinalised = new Event[t];
                for (int chunk = 0; chunk < t; chunk++) {
                    chunkFinalised[chunk] = arena.createEvent();
                }
            } else {
                joint = null;
                chunkFinalised = null;
            }
            computeDone = arena.createEvent();
            ringDone = arena.createEvent();
            done = arena.createEvent();
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    @Override
    protected void enqueue(TensorView q, TensorView k, TensorView v, TensorView o, JointText text) {
        String name = transport.name();
        int t = at.torusDegree();
        compute.record(entry, name + " entry");
        commStream.waitFor(entry);

        // 1. Intra-machine scatter: heads H_{a',s} of our tokens to X1[s*u' + a] on (l, a', b).
        TensorView[] inputs = {q, k, v};
        if (packed.size() == 3) {
            for (int tensor = 0; tensor < 3; tensor++) {
                packHeadGroups(inputs[tensor], packed.get(tensor));
            }
            transport.scatterIntraMachine(0, packed, afterScatter, name + " step 1 intra-machine Q,K,V");
        } else {
            for (int tensor = 0; tensor < 3; tensor++) {
                packHeadGroups(inputs[tensor], packed.get(0));
                transport.scatterIntraMachine(tensor, packed, afterScatter.subList(tensor, tensor + 1),
                        name + " step 1 intra-machine " + TENSORS.charAt(tensor));
            }
        }
        transport.intraMachineComplete(name + " step 1 BarrierAll");
        commStream.record(scattered, name + " step 1");

        // 2. Every torus transfer at once, in the order the stages consume them.
        for (int shift = 1; shift < t; shift++) {
            String step = name + " step 2 torus Q stage " + shift;
            transport.torusShift(shift, 0, afterScatter.subList(0, 1), pulled.subList(0, 1), step);
            commStream.record(queryArrived[at.torusIndexAfter(shift)], step);
        }
        for (int shift = 1; shift < t; shift++) {
            String step = name + " step 2 torus KV stage " + shift;
            transport.torusShift(shift, 1, afterScatter.subList(1, 3), pulled.subList(1, 3), step);
            commStream.record(keyValueArrived[at.torusIndexAfter(shift)], step);
        }

        // 3. Pull Q stages: Q[c] against the stationary K, V chunk l, spread over the ring.
        compute.waitFor(scattered);
        ringStream.waitFor(scattered);
        List<Event> finished = List.of();
        for (int stage = 0; stage < t; stage++) {
            int chunk = at.torusIndexAfter(stage);
            if (stage > 0) {
                compute.waitFor(queryArrived[chunk]);
            }
            int stationary = at.torusIndex();
            QGroup textGroup = stage == 0 && text != null ? joint.group(text) : null;
            List<QGroup> groups = textGroup != null ? List.of(queryGroup(chunk), textGroup) : List.of(queryGroup(chunk));
            List<Event> f = ring.run(groups, torusChunk(1, stationary), torusChunk(2, stationary),
                    p -> ringBlockRows(stationary, p), true, t == 1 && text == null, name + " PullQStage " + stage);
            if (t == 1) {
                finished = f;
            }
        }

        // 4. Pull KV stages: every Q chunk against K, V chunk c; the last finalises the chunks that travel first.
        List<Integer> order = new ArrayList<>();
        List<QGroup> everyChunk = new ArrayList<>();
        for (int shift = 1; shift <= t; shift++) {
            order.add(at.torusIndexAfter(shift));
            everyChunk.add(queryGroup(at.torusIndexAfter(shift)));
        }
        List<QGroup> kvGroups = new ArrayList<>(everyChunk);
        QGroup textGroup = text != null ? joint.group(text) : null;
        if (textGroup != null) {
            kvGroups.add(textGroup);
        }
        for (int stage = 1; stage < t; stage++) {
            int chunk = at.torusIndexAfter(stage);
            String step = name + " PullKVStage " + stage;
            compute.waitFor(keyValueArrived[chunk]);
            ringStream.waitFor(keyValueArrived[chunk]);
            transport.ringBlocksReady(step + " ring Barrier");
            List<Event> f = ring.run(kvGroups, torusChunk(1, chunk), torusChunk(2, chunk), p -> ringBlockRows(chunk, p),
                    false, stage == t - 1 && text == null, step);
            if (stage == t - 1) {
                finished = f;
            }
        }

        if (text != null) {
            // Joint: each chunk takes the text keys, then is finalised, in the order Push O sends them.
            List<Event> each = new ArrayList<>(t);
            for (int g = 0; g < t; g++) {
                QGroup chunkGroup = everyChunk.get(g);
                joint.foldText(chunkGroup.chunks(false), text, compute);
                joint.finalizeAll(List.of(chunkGroup), compute);
                compute.record(chunkFinalised[g], name + " finalise " + chunkGroup.name());
                each.add(chunkFinalised[g]);
            }
            if (textGroup != null) {
                joint.foldText(textGroup.chunks(false), text, compute);
                joint.finalizeAll(List.of(textGroup), compute);
            }
            finished = each;
        }

        // 5. Push O: each finished chunk straight home, to (c, j, b) as ORet[a*t + l].
        transport.pushOutputs(order, finished, out, outputsHome, name + " PushOStage");

        // 6. Join the streams; once every O chunk is home, unpack it into o.
        compute.record(computeDone, name + " compute done");
        ringStream.record(ringDone, name + " ring done");
        commStream.waitFor(computeDone);
        commStream.waitFor(ringDone);
        transport.outputsHome(outputsHome, name + " step 6 BarrierAll");
        for (int member = 0; member < at.ulyssesDegree(); member++) {
            for (int headGroup = 0; headGroup < t; headGroup++) {
                kernels.copy(outputsHome.chunk(member * t + headGroup), headGroup(o, member, headGroup),
                        commStream);
            }
        }
        if (text != null) {
            joint.gather(text, commStream, name + " step 6");
        }
        commStream.record(done, name + " done");
        compute.waitFor(done);
    }

    /** Real rows of torus chunk {@code chunk} as ring member {@code ringPosition} holds it: tokens of GPUs {@code (chunk, j, p)}. */
    private int[] ringBlockRows(int chunk, int ringPosition) {
        int[] rows = new int[at.ulyssesDegree()];
        for (int j = 0; j < rows.length; j++) {
            rows[j] = plan.shardRows(plan.mesh().rankOf(chunk, j, ringPosition));
        }
        return rows;
    }

    /** The first head of {@code H_{a,l}}: Ulysses group {@code a}'s heads, torus sub-group {@code l}. */
    private int headOffset(int member, int headGroup) {
        return member * (plan.shape().heads() / at.ulyssesDegree()) + headGroup * headsPerChunk;
    }

    /** Heads {@code H_{a',s}} of a {@code [B, S/N, H, D]} shard: sub-group {@code s} of intra-machine group {@code a'}. */
    private TensorView headGroup(TensorView x, int member, int headGroup) {
        return x.headSlice(member * (plan.shape().heads() / at.ulyssesDegree()) + headGroup * headsPerChunk,
                headsPerChunk);
    }

    /** {@code into[a'*t + s]} = heads {@code H_{a',s}} of {@code x}. */
    private void packHeadGroups(TensorView x, Chunks into) {
        int t = at.torusDegree();
        for (int member = 0; member < at.ulyssesDegree(); member++) {
            for (int headGroup = 0; headGroup < t; headGroup++) {
                kernels.copy(headGroup(x, member, headGroup), into.chunk(member * t + headGroup), commStream);
            }
        }
    }

    /** Torus chunk {@code c} of tensor {@code i} (0 = Q, 1 = K, 2 = V): stationary in X1 for {@code c == l}. */
    private Chunks torusChunk(int tensor, int chunk) {
        int u = at.ulyssesDegree();
        return chunk == at.torusIndex() ? afterScatter.get(tensor).range(chunk * u, u)
                : pulled.get(tensor).range(chunk * u, u);
    }

    private QGroup queryGroup(int chunk) {
        return new QGroup("Q[" + chunk + "]", torusChunk(0, chunk).views(), states.get(chunk), out.get(chunk).views());
    }
}
