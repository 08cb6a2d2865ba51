package org.streamfusion.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.streamfusion.DType;
import org.streamfusion.Topology;
import org.streamfusion.backend.Buffer;
import org.streamfusion.spi.Communicator;
import org.streamfusion.spi.Communicator.Transfer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Stream;
import org.streamfusion.gpu.CudaRankDevice;
import org.streamfusion.gpu.GpuOptions;
import org.streamfusion.gpu.HostTransfer;
import org.streamfusion.launch.DistributedEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * One rank of an all-to-all bandwidth run from Java: NCCL (one group of sends and receives) and
 * NVSHMEM (put-based: ScatterPush of every chunk, then BarrierAll; the mover is {@link GpuOptions#defaults()}'s,
 * {@code -Dstreamfusion.push=copy-engine} for the copy engines), each over the same bytes per rank,
 * checked for the exact bytes after the first round, timed with CUDA events (median of {@code reps}
 * after warm-up, each round alone after a barrier, as the PyTorch anchor does). Bus bandwidth as nccl-tests and PyTorch report it: {@code size*(N-1)/N / time}.
 *
 * <p>The first size is first run {@code jitWarmup} times back to back (default 1000), so that the host
 * code that issues a round (Java, the downcalls) is compiled, as in a service that has been running:
 * with 5 warm-up rounds it ran interpreted, and the host's gap between the start event and the launch
 * was timed too. The PyTorch anchor does the same warm-up.
 *
 * <p>{@code streamfusion check all-to-all}. The logical topology (default {@code 1xN}) decides which transfers cross
 * machines, and so which ones an emulated link ({@code -Dstreamfusion.emulatedLink}) slows; the header names the link.
 */
@Command(name = "all-to-all", description = "All-to-all over NCCL and NVSHMEM puts: exact bytes, then bus bandwidth.")
final class AllToAllBandwidth implements Callable<Integer> {
    @Mixin
    TransferOptions transfers = new TransferOptions("1xN", List.of(64L, 256L), 20);

    @Option(names = "--jit-warmup", paramLabel = "COUNT", defaultValue = "1000",
            description = "untimed rounds of the first size, so that the host path is compiled (default: ${DEFAULT-VALUE})")
    int jitWarmup;

    /**
     * Runs this rank; prints PASS or FAIL.
     *
     * @return 0 on PASS, 1 on FAIL
     */
    @Override
    public Integer call() {
        int reps = transfers.reps;
        DistributedEnvironment env = DistributedEnvironment.fromSystem();
        int n = env.worldSize();
        int me = env.rank();
        boolean first = true;
        boolean ok = true;
        List<String> rows = new ArrayList<>();
        GpuOptions options = GpuOptions.defaults();
        Topology topology = transfers.topology(n);
        String link = "no emulated link";
        try (CudaRankDevice dev = CudaRankDevice.join(env, topology, options)) {
            link = dev.emulatedLinkReport();
            Communicator comm = dev.communicator();
            for (long mib : transfers.sizesMib) {
                // One arena per size: the symmetric heap holds only one size's buffers at a time.
                try (DeviceArena arena = dev.newArena()) {
                Stream stream = arena.createStream("a2a");
                long bytes = mib << 20;
                long chunk = bytes / 4 / n; // fp32 elements per peer
                Buffer send = arena.allocate(chunk * n, DType.F32);
                Buffer recv = arena.allocate(chunk * n, DType.F32);
                Buffer symRecv = arena.allocateSymmetric(chunk * n, DType.F32);
                float[] pattern = new float[Math.toIntExact(chunk * n)];
                for (int i = 0; i < pattern.length; i++) {
                    pattern[i] = me * 1000 + (i / chunk) + (i % 251) * 1e-3f; // chunk j to peer j, tagged by sender
                }
                HostTransfer.upload(send, pattern);
                List<Transfer> sends = new ArrayList<>();
                List<Transfer> recvs = new ArrayList<>();
                for (int p = 0; p < n; p++) {
                    sends.add(new Transfer(p, send.slice(p * chunk, chunk)));
                    recvs.add(new Transfer(p, recv.slice(p * chunk, chunk)));
                }
                Runnable nccl = () -> comm.exchange(sends, recvs, stream, "nccl all-to-all");
                List<Buffer> chunks = new ArrayList<>();
                int[] everyone = new int[n];
                for (int p = 0; p < n; p++) {
                    chunks.add(send.slice(p * chunk, chunk));
                    everyone[p] = p;
                }
                // One ScatterPush of chunk p to PE p for every p, into this rank's slot, then BarrierAll.
                Runnable shmem = () -> {
                    comm.scatterPush(chunks, symRecv.slice(me * chunk, chunk), everyone, stream, "nvshmem put all-to-all");
                    comm.barrierAll(stream, "nvshmem put all-to-all barrier");
                };
                ok &= check("nccl", nccl, recv, stream, chunk, n, me);
                ok &= check("nvshmem", shmem, symRecv, stream, chunk, n, me);
                Runnable align = () -> comm.barrierAll(stream, "align ranks before a timed round");
                int warm = first ? jitWarmup : 5;
                first = false;
                double ncclMs = LayerTiming.medianRoundMillis(nccl, align, stream, reps, warm);
                double shmemMs = LayerTiming.medianRoundMillis(shmem, align, stream, reps, warm);
                double busBytes = (double) bytes * (n - 1) / n;
                rows.add(String.format(Locale.ROOT, "%8d MiB  NCCL %8.3f ms %7.1f GB/s   NVSHMEM put (%s) %8.3f ms %7.1f GB/s",
                        mib, ncclMs, busBytes / ncclMs / 1e6, options.push(), shmemMs, busBytes / shmemMs / 1e6));
                }
            }
        }
        if (me == 0) {
            System.out.printf(Locale.ROOT, "all-to-all from Java, %d ranks as %s, %s, bytes per rank, median of %d (CUDA events),"
                    + " bus bandwidth%n", n, topology, link, reps);
            rows.forEach(System.out::println);
        }
        System.out.println((ok ? "PASS" : "FAIL") + " rank " + me);
        return ok ? 0 : 1;
    }

    /** After one round, chunk p of the receive buffer holds exactly what rank p sent to this rank: every element. */
    private static boolean check(String what, Runnable round, Buffer recv, Stream stream, long chunk, int n, int me) {
        round.run();
        stream.synchronize(what + " check");
        float[] got = HostTransfer.download(recv);
        for (int p = 0; p < n; p++) {
            for (long i = 0; i < chunk; i++) {
                long idx = p * chunk + i;
                float want = p * 1000 + me + ((me * chunk + i) % 251) * 1e-3f;
                if (got[(int) idx] != want) {
                    System.out.println(what + ": rank " + me + " element " + idx + " from rank " + p + " is " + got[(int) idx]
                            + ", expected " + want);
                    return false;
                }
            }
        }
        return true;
    }
}
