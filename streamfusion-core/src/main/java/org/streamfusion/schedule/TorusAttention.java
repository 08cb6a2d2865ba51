package org.streamfusion.schedule;

import java.util.ArrayList;
import java.util.List;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.DeviceMesh;
import org.streamfusion.Plan;
import org.streamfusion.ProcessGroup;
import org.streamfusion.backend.AttentionState;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.Chunks;
import org.streamfusion.backend.Communicator;
import org.streamfusion.backend.Communicator.Transfer;
import org.streamfusion.backend.Event;
import org.streamfusion.backend.Kernels;
import org.streamfusion.backend.RankDevice;
import org.streamfusion.backend.Team;
import org.streamfusion.backend.TensorView;

/**
 * Torus attention on the mesh {@code (t, u', r)} (spec, section 4), for GPU {@code (l, a, b)}:
 * ScatterPush Q, K, V inside the machine; issue every torus GatherPull at once; Pull Q stages
 * ({@code Q[c]} against the stationary K, V chunk {@code l} over the ring); Pull KV stages (all Q chunks
 * against K, V chunk {@code c}); Push O as each chunk is finalised; BarrierAll.
 *
 * <p>{@code oneSided} selects StreamFusion proper (ScatterPush/GatherPull/Barrier and the pull form of
 * {@link RingAttn}); otherwise the same stages run on two-sided grouped send/recv (TORUS_TWO_SIDED).
 *
 * <p>Layouts, with {@code Ht = H/(t*u')} and every chunk a packed {@code [B, S/N, Ht, D]}:
 * {@code X1[s*u' + j]}: head sub-group {@code H_{a,s}} of the tokens of GPU {@code (l, j, b)}, after the
 * intra-machine step; {@code X1[l*u' ..]} is the stationary torus chunk. {@code T[c*u' + j]}: torus chunk
 * {@code c} pulled from GPU {@code (c, a, b)}. {@code ORet[a'*t + l']}: this GPU's tokens, heads
 * {@code H_{a',l'}}, pushed by GPU {@code (l', a', b)}.
 *
 * <p>Push O writes each finished chunk straight to its home GPU {@code (c, j, b)}: that is the torus
 * return and the reverse intra-machine Ulysses in one transfer, so the layer needs no machine-crossing
 * barrier between them, only the two at its start and end.
 */
public final class TorusAttention extends ScheduledAttention {
    private final boolean oneSided;
    private final Communicator comm;
    private final Kernels kernels;
    private final DeviceMesh mesh;
    private final int t;
    private final int u;
    private final int l;
    private final int a;
    private final int b;
    private final int ht;
    private final ProcessGroup intra;
    private final ProcessGroup torus;
    private final Team ringTeam;
    private final Chunks pack;
    private final Chunks[] x1 = new Chunks[3];
    private final Chunks[] tc = new Chunks[3];
    private final Chunks[] out;
    private final List<List<AttentionState>> states = new ArrayList<>();
    private final Chunks oRet;
    private final RingAttn ring;
    private final Event entry;
    private final Event started;
    private final Event[] qArrived;
    private final Event[] kvArrived;
    private final Event computeDone;
    private final Event ringDone;
    private final Event done;

    public TorusAttention(Plan plan, RankDevice device, boolean oneSided) {
        super(plan, device);
        this.oneSided = oneSided;
        this.comm = device.communicator();
        this.kernels = device.kernels();
        this.mesh = plan.mesh();
        AttentionShape s = plan.shape();
        int rank = device.rank();
        t = mesh.torus();
        u = mesh.ulysses();
        l = mesh.torusIndex(rank);
        a = mesh.ulyssesIndex(rank);
        b = mesh.ringIndex(rank);
        ht = s.heads() / (t * u);
        intra = mesh.ulyssesGroup(rank);
        torus = mesh.torusGroup(rank);
        int sl = plan.localSeqLen();
        DType dt = device.storageType(s.dtype());
        try {
            Team mine = null;
            // Only the one-sided form barriers its ring team. Team creation is collective: every rank
            // creates every ring team, in the same order.
            for (int ll = 0; oneSided && ll < t; ll++) {
                for (int aa = 0; aa < u; aa++) {
                    Team team = comm.team(mesh.ringGroup(mesh.rankOf(ll, aa, 0)));
                    if (ll == l && aa == a) {
                        mine = team;
                    }
                }
            }
            ringTeam = mine;
            pack = Chunks.allocate(arena, false, dt, u * t, s.batch(), sl, ht, s.headDim());
            // Peers read and write these directly in the one-sided form: symmetric memory there only.
            for (int i = 0; i < 3; i++) {
                x1[i] = Chunks.allocate(arena, oneSided, dt, t * u, s.batch(), sl, ht, s.headDim());
                tc[i] = Chunks.allocate(arena, oneSided, dt, t * u, s.batch(), sl, ht, s.headDim());
            }
            out = new Chunks[t];
            for (int c = 0; c < t; c++) {
                out[c] = Chunks.allocate(arena, false, dt, u, s.batch(), sl, ht, s.headDim());
                states.add(AttentionState.allocate(arena, out[c]));
            }
            oRet = Chunks.allocate(arena, oneSided, dt, u * t, s.batch(), sl, ht, s.headDim());
            long block = x1[0].range(0, u).region().length();
            ring = oneSided
                    ? RingAttn.pull(mesh.ringGroup(rank), rank, arena, comm, kernels, compute, ringStream, s.softmaxScale(), block, dt)
                    : RingAttn.pass(mesh.ringGroup(rank), rank, arena, comm, kernels, compute, ringStream, s.softmaxScale(), block, dt);
            entry = arena.createEvent();
            started = arena.createEvent();
            qArrived = new Event[t];
            kvArrived = new Event[t];
            for (int c = 0; c < t; c++) {
                qArrived[c] = arena.createEvent();
                kvArrived[c] = arena.createEvent();
            }
            computeDone = arena.createEvent();
            ringDone = arena.createEvent();
            done = arena.createEvent();
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private String name() {
        return oneSided ? "SFU" : "TORUS2";
    }

    /** Torus chunk {@code c} of tensor {@code i} (0 = Q, 1 = K, 2 = V): stationary for {@code c == l}. */
    private Chunks chunk(int i, int c) {
        return c == l ? x1[i].range(l * u, u) : tc[i].range(c * u, u);
    }

    @Override
    protected void enqueue(TensorView q, TensorView k, TensorView v, TensorView o) {
        String n = name();
        compute.record(entry, n + " entry");
        commStream.waitFor(entry);

        // 1. ScatterPush Q, K, V inside the machine: heads H_{a',s} of our tokens to X1[s*u' + a] on (l, a', b).
        TensorView[] in = {q, k, v};
        for (int i = 0; i < 3; i++) {
            scatterIntra(in[i], x1[i], n + " step 1 intra-machine " + "QKV".charAt(i));
        }
        if (oneSided) {
            comm.barrierAll(commStream, n + " step 1 BarrierAll");
        }
        commStream.record(started, n + " step 1");

        // 2. Issue every torus transfer at once, in the order the stages consume them.
        for (int i = 1; i < t; i++) {
            torusTransfer(i, new int[] {0}, qArrived, n + " step 2 torus Q stage " + i);
        }
        for (int i = 1; i < t; i++) {
            torusTransfer(i, new int[] {1, 2}, kvArrived, n + " step 2 torus KV stage " + i);
        }

        // 3. Pull Q stages: Q[c] against the stationary K, V chunk l spread over the ring.
        compute.waitFor(started);
        ringStream.waitFor(started);
        List<Event> finals = List.of();
        for (int i = 0; i < t; i++) {
            int c = (l + i) % t;
            if (i > 0) {
                compute.waitFor(qArrived[c]);
            }
            List<Event> f = ring.run(List.of(group(c)), chunk(1, l), chunk(2, l), true, t == 1, n + " PullQStage " + i);
            if (t == 1) {
                finals = f;
            }
        }

        // 4. Pull KV stages: every Q chunk against K, V chunk c; the last one finalises c != l first.
        List<QGroup> all = new ArrayList<>();
        List<Integer> order = new ArrayList<>();
        for (int i = 1; i <= t; i++) {
            order.add((l + i) % t);
            all.add(group((l + i) % t));
        }
        for (int i = 1; i < t; i++) {
            int c = (l + i) % t;
            String stage = n + " PullKVStage " + i;
            compute.waitFor(kvArrived[c]);
            ringStream.waitFor(kvArrived[c]);
            if (oneSided) {
                comm.barrier(ringTeam, ringStream, stage + " ring Barrier");
            }
            List<Event> f = ring.run(all, chunk(1, c), chunk(2, c), false, i == t - 1, stage);
            if (i == t - 1) {
                finals = f;
            }
        }

        // 5. Push O: each finished chunk straight home, to (c, j, b) as ORet[a*t + l].
        if (oneSided) {
            for (int g = 0; g < order.size(); g++) {
                int c = order.get(g);
                commStream.waitFor(finals.get(g));
                List<Buffer> srcs = new ArrayList<>(u);
                int[] pes = new int[u];
                for (int j = 0; j < u; j++) {
                    srcs.add(out[c].chunkBuffer(j));
                    pes[j] = mesh.rankOf(c, j, b);
                }
                comm.scatterPush(srcs, oRet.chunkBuffer(a * t + l), pes, commStream, n + " PushOStage chunk " + c);
            }
        } else {
            for (Event e : finals) {
                commStream.waitFor(e);
            }
            List<Transfer> sends = new ArrayList<>();
            List<Transfer> recvs = new ArrayList<>();
            for (int c = 0; c < t; c++) {
                for (int j = 0; j < u; j++) {
                    sends.add(new Transfer(mesh.rankOf(c, j, b), out[c].chunkBuffer(j)));
                    recvs.add(new Transfer(mesh.rankOf(c, j, b), oRet.chunkBuffer(j * t + c)));
                }
            }
            comm.exchange(sends, recvs, commStream, n + " step 5 O exchange");
        }

        // 6. Join the streams; after the closing BarrierAll every O chunk is home: unpack.
        compute.record(computeDone, n + " compute done");
        ringStream.record(ringDone, n + " ring done");
        commStream.waitFor(computeDone);
        commStream.waitFor(ringDone);
        if (oneSided) {
            comm.barrierAll(commStream, n + " step 6 BarrierAll");
        }
        for (int aa = 0; aa < u; aa++) {
            for (int s = 0; s < t; s++) {
                kernels.copy(oRet.chunk(aa * t + s), headGroup(o, aa, s), commStream);
            }
        }
        commStream.record(done, n + " done");
        compute.waitFor(done);
    }

    /** Heads {@code H_{a',s}} of a {@code [B, S/N, H, D]} shard: sub-group {@code s} of intra group {@code a'}. */
    private TensorView headGroup(TensorView x, int aa, int s) {
        return x.headSlice(aa * (plan.shape().heads() / u) + s * ht, ht);
    }

    private QGroup group(int c) {
        return new QGroup("Q[" + c + "]", chunk(0, c).views(), states.get(c), out[c].views());
    }

    /** Step 1 for one tensor: pack heads {@code H_{a',s}} and send them to {@code X1[s*u' + a]} of member {@code a'}. */
    private void scatterIntra(TensorView x, Chunks dst, String step) {
        for (int aa = 0; aa < u; aa++) {
            for (int s = 0; s < t; s++) {
                kernels.copy(headGroup(x, aa, s), pack.chunk(aa * t + s), commStream);
            }
        }
        if (oneSided) {
            for (int s = 0; s < t; s++) {
                List<Buffer> srcs = new ArrayList<>(u);
                for (int aa = 0; aa < u; aa++) {
                    srcs.add(pack.chunkBuffer(aa * t + s));
                }
                comm.scatterPush(srcs, dst.chunkBuffer(s * u + a), intra.ranks(), commStream, step + " ScatterPush");
            }
        } else {
            List<Transfer> sends = new ArrayList<>();
            List<Transfer> recvs = new ArrayList<>();
            for (int aa = 0; aa < u; aa++) {
                for (int s = 0; s < t; s++) {
                    sends.add(new Transfer(intra.member(aa), pack.chunkBuffer(aa * t + s)));
                    recvs.add(new Transfer(intra.member(aa), dst.chunkBuffer(s * u + aa)));
                }
            }
            comm.exchange(sends, recvs, commStream, step + " all-to-all");
        }
    }

    /**
     * Torus stage {@code i} for the given tensors: bring torus chunk {@code c = (l+i) % t}, heads
     * {@code H_{a,l}}, from GPU {@code (c, a, b)} and record {@code arrived[c]}.
     */
    private void torusTransfer(int i, int[] tensors, Event[] arrived, String step) {
        int c = (l + i) % t;
        int from = torus.member(c);
        if (oneSided) {
            for (int x : tensors) {
                comm.gatherPull(List.of(tc[x].range(c * u, u).region()), x1[x].range(l * u, u).region(),
                        new int[] {from}, commStream, step + " GatherPull");
            }
        } else {
            // The shift-by-i permutation: send our copy of sub-group (l-i) to (l-i, a, b), receive from (l+i, a, b).
            int to = (l - i + t) % t;
            List<Transfer> sends = new ArrayList<>();
            List<Transfer> recvs = new ArrayList<>();
            for (int x : tensors) {
                sends.add(new Transfer(torus.member(to), x1[x].range(to * u, u).region()));
                recvs.add(new Transfer(from, tc[x].range(c * u, u).region()));
            }
            comm.exchange(sends, recvs, commStream, step + " send/recv");
        }
        commStream.record(arrived[c], step);
    }
}
