package org.streamfusion.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.Optional;
import org.streamfusion.DType;
import org.streamfusion.InterMachineLink;
import org.streamfusion.LinkClass;
import org.streamfusion.Topology;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Stream;
import org.streamfusion.gpu.CudaRankDevice;
import org.streamfusion.gpu.GpuOptions;
import org.streamfusion.gpu.HostTransfer;
import org.streamfusion.launch.DistributedEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import org.streamfusion.spi.Communicator;
import org.streamfusion.spi.Communicator.Transfer;

/**
 * Times one transfer between ranks 0 and 1 through the emulated link ({@code -Dstreamfusion.emulatedLink}):
 * a ScatterPush from 0 (timed on the sender, whose stream holds it), a GatherPull by 1 (timed on the
 * receiver) and an NCCL send from 0 to 1 (timed on both), each alone after a BarrierAll. Across machines the
 * achieved bandwidth, {@code bytes / (time - latency)}, must be within 5% of the link's; inside one machine
 * the link must not slow the transfer (more than twice the link's bandwidth). The first size's bytes are
 * checked exactly. Prints one line per transfer, then PASS or FAIL; exit 0 only on PASS.
 *
 * <p>{@code streamfusion check emulated-link}.
 */
@Command(name = "emulated-link", description = "A transfer through the emulated link: within 5% of its bandwidth.")
final class EmulatedLinkCheck implements Callable<Integer> {
    private static final double TOLERANCE = 0.05;

    @Mixin
    TransferOptions transfers = new TransferOptions("2x1", List.of(64L, 256L), 5);

    /**
     * Runs this rank; prints PASS or FAIL.
     *
     * @return 0 on PASS, 1 on FAIL
     */
    @Override
    public Integer call() {
        int reps = transfers.reps;
        DistributedEnvironment env = RankContext.environment();
        Topology topology = transfers.topology(env.worldSize());
        int me = env.rank();
        boolean ok = true;
        List<String> rows = new ArrayList<>();
        try (CudaRankDevice dev = RankContext.join(env, topology, GpuOptions.defaults().withPoison(true))) {
            if (me == 0) {
                System.out.println("emulated link check, " + topology + ", ranks 0 and 1: " + dev.emulatedLinkReport());
            }
            Communicator comm = dev.communicator();
            Optional<InterMachineLink> link = dev.emulatedLink();
            boolean crossing = topology.linkBetween(0, 1) == LinkClass.INTER_MACHINE;
            boolean first = true;
            for (long mib : transfers.sizesMib) {
                long bytes = mib << 20;
                try (DeviceArena arena = dev.newArena()) {
                    Stream stream = arena.createStream("emulated link");
                    Buffer local = arena.allocate(bytes / 4, DType.F32);
                    Buffer symmetric = arena.allocateSymmetric(bytes / 4, DType.F32);
                    float[] pattern = pattern(bytes / 4, me);
                    HostTransfer.upload(local, pattern);
                    HostTransfer.upload(symmetric, pattern);
                    Runnable put = () -> {
                        if (me == 0) {
                            comm.scatterPush(List.of(local), symmetric, new int[] {1}, stream, "timed put");
                        }
                    };
                    Runnable get = () -> {
                        if (me == 1) {
                            comm.gatherPull(List.of(local), symmetric, new int[] {0}, stream, "timed get");
                        }
                    };
                    Runnable send = () -> {
                        if (me <= 1) {
                            List<Transfer> one = List.of(new Transfer(1 - me, local));
                            comm.exchange(me == 0 ? one : List.of(), me == 1 ? one : List.of(), stream, "timed send");
                        }
                    };
                    Runnable align = () -> comm.barrierAll(stream, "align ranks before a timed transfer");
                    double putMs = LayerTiming.medianRoundMillis(put, align, stream, reps, 1);
                    double getMs = LayerTiming.medianRoundMillis(get, align, stream, reps, 1);
                    double sendMs = LayerTiming.medianRoundMillis(send, align, stream, reps, 1);
                    if (first) {
                        // After the last send rank 1's local buffer holds rank 0's pattern; its symmetric one
                        // got rank 0's put (the sender's pattern) in every timed put.
                        ok &= me != 1 || exact("send", local, 0) && exact("put", symmetric, 0);
                        first = false;
                    }
                    if (me == 0) {
                        ok &= row(rows, "ScatterPush 0->1 (sender)", mib, bytes, putMs, link, crossing);
                        ok &= row(rows, "NCCL send 0->1 (sender)", mib, bytes, sendMs, link, crossing);
                    } else if (me == 1) {
                        ok &= row(rows, "GatherPull 1<-0 (receiver)", mib, bytes, getMs, link, crossing);
                        ok &= row(rows, "NCCL recv 1<-0 (receiver)", mib, bytes, sendMs, link, crossing);
                    }
                }
            }
        }
        rows.forEach(r -> System.out.println("rank " + me + ": " + r));
        System.out.println((ok ? "PASS" : "FAIL") + " rank " + me);
        return ok ? 0 : 1;
    }

    private static float[] pattern(long elements, int rank) {
        float[] p = new float[Math.toIntExact(elements)];
        for (int i = 0; i < p.length; i++) {
            p[i] = rank * 1000 + (i % 4093) * 1e-3f;
        }
        return p;
    }

    private static boolean exact(String what, Buffer buffer, int from) {
        float[] got = HostTransfer.download(buffer);
        float[] want = pattern(got.length, from);
        for (int i = 0; i < got.length; i++) {
            if (got[i] != want[i]) {
                System.out.println(what + ": element " + i + " is " + got[i] + ", expected " + want[i]);
                return false;
            }
        }
        return true;
    }

    /** One line; checks it against the link: within 5% across machines, unaffected inside one. */
    private static boolean row(List<String> rows, String what, long mib, long bytes, double ms,
            Optional<InterMachineLink> link, boolean crossing) {
        String verdict = "-";
        boolean ok = true;
        double latency = link.map(InterMachineLink::latencySeconds).orElse(0.0);
        double achieved = bytes / (ms * 1e-3 - (crossing ? latency : 0));
        if (link.isPresent() && !Double.isInfinite(link.get().bytesPerSecond())) {
            double ratio = achieved / link.get().bytesPerSecond();
            ok = crossing ? Math.abs(ratio - 1) <= TOLERANCE : ratio > 2;
            verdict = String.format(Locale.ROOT, "%.4f of the link's %s", ratio, crossing ? "(within 5%: " + ok + ")"
                    : "(same machine, unaffected: " + ok + ")");
        }
        rows.add(String.format(Locale.ROOT, "%-28s %6d MiB %9.3f ms %9.3f GB/s  %s", what, mib, ms, achieved / 1e9,
                verdict));
        return ok;
    }
}
