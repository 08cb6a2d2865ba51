package org.streamfusion.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import org.streamfusion.DType;
import org.streamfusion.ProcessGroup;
import org.streamfusion.Topology;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Stream;
import org.streamfusion.gpu.CudaRankDevice;
import org.streamfusion.gpu.GpuOptions;
import org.streamfusion.gpu.HostTransfer;
import org.streamfusion.launch.DistributedEnvironment;
import org.streamfusion.spi.Communicator.Transfer;
import org.streamfusion.spi.Communicator;
import org.streamfusion.spi.Team;
import picocli.CommandLine.Command;

/**
 * One rank of a check of the communicator's primitives across processes, each for exact values:
 * two-sided ring send/recv; GatherPull of every PE's symmetric buffer; the world split into teams of
 * two ranks, each team doing ScatterPush to its partner and a team Barrier; BarrierAll after a
 * ScatterPush to every PE; and each primitive's bytes moved by the mover chosen for it (all PEs on one
 * host, so none falls back). Prints {@code PASS rank r} or what differed ({@code streamfusion check communicator}).
 */
@Command(name = "communicator", description = "The communicator's primitives across processes, for exact values.")
final class CommunicatorCheck implements Callable<Integer> {
    private static final int LEN = 1 << 16;

    /**
     * Runs this rank; prints PASS or FAIL.
     *
     * @return 0 on PASS, 1 on FAIL
     */
    @Override
    public Integer call() {
        DistributedEnvironment env = RankContext.environment();
        int n = env.worldSize();
        int me = env.rank();
        List<String> failures = new ArrayList<>();
        GpuOptions options = GpuOptions.defaults().withPoison(true);
        try (CudaRankDevice dev = RankContext.join(env, Topology.of(1, n), options);
                DeviceArena arena = dev.newArena()) {
            Communicator comm = dev.communicator();
            Stream s = arena.createStream("check");
            Buffer mine = arena.allocate(LEN, DType.F32);
            HostTransfer.upload(mine, tagged(me, 0));

            // Ring: send to the next rank, receive from the previous one.
            Buffer fromPrev = arena.allocate(LEN, DType.F32);
            comm.exchange(List.of(new Transfer((me + 1) % n, mine)), List.of(new Transfer((me - 1 + n) % n, fromPrev)), s,
                    "ring send/recv");
            s.synchronize("ring send/recv");
            expect(failures, "ring send/recv from rank " + (me - 1 + n) % n, HostTransfer.download(fromPrev),
                    tagged((me - 1 + n) % n, 0));

            // GatherPull: every PE's symmetric buffer, after a barrier that orders their writes.
            Buffer sym = arena.allocateSymmetric(LEN, DType.F32);
            HostTransfer.upload(sym, tagged(me, 1));
            comm.barrierAll(s, "symmetric buffers written");
            List<Buffer> pulled = new ArrayList<>();
            int[] all = new int[n];
            for (int p = 0; p < n; p++) {
                pulled.add(arena.allocate(LEN, DType.F32));
                all[p] = p;
            }
            comm.gatherPull(pulled, sym, all, s, "GatherPull from every PE");
            s.synchronize("GatherPull");
            for (int p = 0; p < n; p++) {
                expect(failures, "GatherPull from PE " + p, HostTransfer.download(pulled.get(p)), tagged(p, 1));
            }

            // Teams of two (0,1), (2,3), ...: ScatterPush to the partner, team Barrier, read what arrived.
            if (n % 2 == 0) {
                Team myTeam = null;
                for (int start = 0; start < n; start += 2) {
                    Team t = comm.team(new ProcessGroup("pair", start, 1, 2));
                    if (start == me - me % 2) {
                        myTeam = t;
                    }
                }
                Buffer inbox = arena.allocateSymmetric(LEN, DType.F32);
                comm.barrierAll(s, "inbox allocated");
                int partner = me ^ 1;
                comm.scatterPush(List.of(mine), inbox, new int[] {partner}, s, "ScatterPush to partner");
                comm.barrier(myTeam, s, "team barrier");
                s.synchronize("team barrier");
                expect(failures, "team-of-two ScatterPush from rank " + partner, HostTransfer.download(inbox),
                        tagged(partner, 0));
            }

            // BarrierAll completes a ScatterPush into every PE's slot.
            Buffer slots = arena.allocateSymmetric((long) LEN * n, DType.F32);
            comm.barrierAll(s, "slots allocated");
            List<Buffer> srcs = new ArrayList<>();
            for (int p = 0; p < n; p++) {
                srcs.add(mine);
            }
            comm.scatterPush(srcs, slots.slice((long) me * LEN, LEN), all, s, "ScatterPush to every PE");
            comm.barrierAll(s, "BarrierAll");
            s.synchronize("BarrierAll");
            float[] got = HostTransfer.download(slots);
            for (int p = 0; p < n; p++) {
                float[] part = Arrays.copyOfRange(got, p * LEN, (p + 1) * LEN);
                expect(failures, "ScatterPush + BarrierAll slot of rank " + p, part, tagged(p, 0));
            }

            // One host: NVSHMEM maps every PE, so each primitive's bytes went by the mover chosen for it
            // (no silent fallback to the copy engines), and no byte by a mover chosen for neither.
            GpuOptions o = options;
            for (GpuOptions.OneSidedMover m : GpuOptions.OneSidedMover.values()) {
                long moved = dev.oneSidedBytes(m);
                boolean chosen = m == o.push() || m == o.pull();
                System.out.println("rank " + me + ": one-sided bytes by " + m + ": " + moved);
                if (chosen != (moved > 0)) {
                    failures.add("mover " + m + " moved " + moved + " bytes, but push=" + o.push() + " pull=" + o.pull());
                }
            }
        }
        failures.forEach(f -> System.out.println("rank " + me + ": " + f));
        System.out.println((failures.isEmpty() ? "PASS" : "FAIL") + " rank " + me);
        return failures.isEmpty() ? 0 : 1;
    }

    private static float[] tagged(int rank, int salt) {
        float[] x = new float[LEN];
        for (int i = 0; i < LEN; i++) {
            x[i] = rank * 100_000 + salt * 50_000 + (i % 4093);
        }
        return x;
    }

    private static void expect(List<String> failures, String what, float[] got, float[] want) {
        for (int i = 0; i < want.length; i++) {
            if (Float.compare(got[i], want[i]) != 0) {
                failures.add(what + ": element " + i + " is " + got[i] + ", expected " + want[i]);
                return;
            }
        }
    }
}
