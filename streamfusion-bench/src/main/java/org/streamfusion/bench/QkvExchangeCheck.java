package org.streamfusion.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.DistributedAttention;
import org.streamfusion.Plan;
import org.streamfusion.planning.Planner;
import org.streamfusion.QkvExchange;
import org.streamfusion.Topology;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.TensorView;
import org.streamfusion.gpu.CudaRankDevice;
import org.streamfusion.gpu.GpuOptions;
import org.streamfusion.gpu.HostTransfer;
import org.streamfusion.launch.DistributedEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * One rank of a GPU job (docs/graphs.md, "Grouped Q, K, V exchange"): for every plan with a two-sided
 * Ulysses step, Q, K and V in one grouped exchange against three separate ones. Both give the same output
 * bit for bit; their layer times are measured alternately, burst against burst, so that clock and
 * neighbour drift falls on both alike, and reported with the median of the per-round ratios.
 *
 * <p>{@code streamfusion check qkv-exchange}; {@code --reps} is the number of rounds.
 */
@Command(name = "qkv-exchange", description = "Grouped against separate Q, K, V exchanges: identical outputs, times.")
final class QkvExchangeCheck implements Callable<Integer> {
    @Mixin
    LayerOptions layer = new LayerOptions("1xN", 4608, 24, 128, 40);

    /**
     * Runs this rank; prints a table and PASS or FAIL.
     *
     * @return 0 on PASS, 1 on FAIL
     */
    @Override
    public Integer call() {
        int rounds = layer.reps(); // a usage error before joining a job
        DistributedEnvironment env = RankContext.environment();
        Topology topo = layer.topology(env.worldSize());
        AttentionShape shape = layer.shape();
        int rank = env.rank();
        int n = topo.worldSize();
        List<String> failures = new ArrayList<>();
        List<String> rows = new ArrayList<>();
        try (CudaRankDevice dev = RankContext.join(env, topo, GpuOptions.defaults().withPoison(true));
                DeviceArena io = dev.newArena()) {
            TensorView[] x = LayerTiming.seededShard(io, shape, n, rank);
            List<Plan> plans = Planner.withDefaults().enumerate(shape, topo).stream().filter(Planner.Candidate::valid)
                    .map(Planner.Candidate::plan).filter(Plan::exchangesQkv).toList();
            for (Plan plan : plans) {
                try (DistributedAttention grouped = DistributedAttention.create(
                                plan.withQkvExchange(QkvExchange.GROUPED), dev);
                        DistributedAttention separate = DistributedAttention.create(
                                plan.withQkvExchange(QkvExchange.SEPARATE), dev)) {
                    float[] one = layer(separate, x, plan + " separate");
                    String differs = GraphCheck.differs(one, layer(grouped, x, plan + " grouped"));
                    if (differs != null) {
                        failures.add(plan + ": grouped differs from separate " + differs);
                    }
                    double[] groupedMs = new double[rounds];
                    double[] separateMs = new double[rounds];
                    double[] ratio = new double[rounds];
                    for (int r = 0; r < rounds; r++) {
                        // Alternate which goes first: neither always follows the other's tail.
                        boolean groupedFirst = r % 2 == 0;
                        DistributedAttention first = groupedFirst ? grouped : separate;
                        DistributedAttention second = groupedFirst ? separate : grouped;
                        double a = GraphCheck.time(first.stream(), () -> first.forward(x[0], x[1], x[2], x[3]), 1)
                                .layerMs();
                        double b = GraphCheck.time(second.stream(), () -> second.forward(x[0], x[1], x[2], x[3]), 1)
                                .layerMs();
                        groupedMs[r] = groupedFirst ? a : b;
                        separateMs[r] = groupedFirst ? b : a;
                        ratio[r] = separateMs[r] / groupedMs[r];
                    }
                    rows.add(String.format(Locale.ROOT, "%-40s %-4s %9s %10.4f %10.4f %8.3f %8.3f-%.3f",
                            plan.mesh(), plan.groupsQkv(DType.BF16) ? "yes" : "no",
                            differs == null ? "identical" : "DIFFERS", median(groupedMs), median(separateMs),
                            median(ratio), percentile(ratio, 0.1), percentile(ratio, 0.9)));
                }
            }
            System.out.printf(Locale.ROOT, "rank %d of %d on GPU %d: %s, %s; layer ms = CUDA events over bursts of"
                    + " consecutive layers, grouped and separate alternately, median of %d rounds; x = separate /"
                    + " grouped per round, median and 10th-90th percentile; AUTO = whether the default groups%n",
                    rank, n, dev.cudaDevice(), topo, shape, rounds);
            System.out.printf(Locale.ROOT, "%-40s %-4s %9s %10s %10s %8s %s%n", "method (mesh)", "AUTO", "output",
                    "grouped ms", "separate ms", "x", "x p10-p90");
            rows.forEach(System.out::println);
        }
        failures.forEach(f -> System.out.println("FAILED: " + f));
        System.out.println((failures.isEmpty() ? "PASS" : "FAIL") + " rank " + rank);
        return failures.isEmpty() ? 0 : 1;
    }

    /** One layer on a poisoned output, downloaded. */
    private static float[] layer(DistributedAttention attn, TensorView[] x, String what) {
        HostTransfer.poison(x[3].base());
        attn.forward(x[0], x[1], x[2], x[3]);
        attn.stream().synchronize(what);
        return HostTransfer.download(x[3].base());
    }

    static double median(double[] values) {
        return percentile(values, 0.5);
    }

    static double percentile(double[] values, double p) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[Math.min(sorted.length - 1, (int) Math.floor(p * sorted.length))];
    }
}
