package org.streamfusion.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.apache.commons.csv.CSVParser;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.DeviceMesh;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.TensorView;
import org.streamfusion.gpu.CudaRankDevice;
import org.streamfusion.gpu.GpuOptions;
import org.streamfusion.gpu.HostTransfer;
import org.streamfusion.launch.DistributedEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * One rank of one link setting of a sweep (the sweep command starts it through {@link Launcher}, with
 * the emulated link as the system property {@code streamfusion.emulatedLink}): runs the rows of the
 * plan file in order, the same on every rank, and rank 0 appends {@code index median p10 p90} per row
 * to the results file and prints the progress line.
 *
 * <p>{@code streamfusion sweep-rank --plan FILE --results FILE --warmup N --reps N}.
 */
@Command(name = "sweep-rank", description = "One rank of one link setting of a sweep (the sweep launches it).")
final class SweepRank implements Callable<Integer> {
    @Option(names = "--plan", required = true, paramLabel = "FILE", description = "the plan file the sweep wrote")
    Path planFile;

    @Option(names = "--results", required = true, paramLabel = "FILE", description = "the file rank 0 appends to")
    Path results;

    @Option(names = "--warmup", required = true, paramLabel = "COUNT", description = "untimed layers per row")
    int warmup;

    @Option(names = "--reps", required = true, paramLabel = "COUNT", description = "timed layers per row")
    int reps;

    /**
     * Joins the job and runs every row of the plan file; rank 0 appends its results.
     *
     * @return 0 once every row ran
     * @throws IOException if the plan file cannot be read
     */
    @Override
    public Integer call() throws IOException {
        List<List<String>> records = SweepCsv.records(planFile, SweepCsv.TSV);
        Topology topo = topology(records.getFirst().getFirst());
        List<SweepPlan.Row> rows = new ArrayList<>();
        for (List<String> fields : records.subList(1, records.size())) {
            rows.add(parseRow(fields));
        }
        DistributedEnvironment env = DistributedEnvironment.fromSystem();
        try (CudaRankDevice dev = CudaRankDevice.join(env, topo, GpuOptions.defaults())) {
            DeviceArena io = null;
            TensorView[] x = null;
            AttentionShape held = null;
            try {
                for (SweepPlan.Row row : rows) {
                    if (!row.shape().equals(held)) {
                        if (io != null) {
                            io.close();
                        }
                        held = row.shape();
                        io = dev.newArena();
                        x = LayerTiming.seededShard(io, held, topo.worldSize(), env.rank());
                    }
                    Plan plan = Plan.of(held, DeviceMesh.of(topo, row.method(), row.t(), row.u(), row.r()))
                            .withInterMachine(row.link().compression());
                    LayerTiming.Timing timing = LayerTiming.measure(dev, plan, x, warmup, reps);
                    if (env.rank() == 0) {
                        System.out.printf(Locale.ROOT, "%s ... %.2f ms (p10 %.2f, p90 %.2f; predicted %.2f)%n", row.describe(),
                                timing.medianMs(), timing.p10Ms(), timing.p90Ms(), row.predictedMs());
                        Files.writeString(results, SweepCsv.TSV.format(row.index(), timing.medianMs(), timing.p10Ms(),
                                timing.p90Ms()) + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                                StandardOpenOption.APPEND);
                    }
                }
            } finally {
                if (io != null) {
                    io.close();
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return 0;
    }

    /** The plan file: {@code MxG} on the first line, then one {@link #formatRow} per line. */
    static String planFile(Topology topo, List<SweepPlan.Row> rows) {
        StringBuilder sb = new StringBuilder(SweepCsv.TSV.format(topo.machines() + "x" + topo.gpusPerMachine())).append('\n');
        rows.forEach(r -> sb.append(formatRow(r)).append('\n'));
        return sb.toString();
    }

    static String formatRow(SweepPlan.Row r) {
        return SweepCsv.TSV.format(String.valueOf(r.index()), String.valueOf(r.total()), r.link().spec(), r.method().name(),
                String.valueOf(r.t()), String.valueOf(r.u()), String.valueOf(r.r()), String.valueOf(r.batch()),
                String.valueOf(r.seqLen()), String.valueOf(r.heads()), String.valueOf(r.headDim()),
                Double.toString(r.predictedMs()));
    }

    static SweepPlan.Row parseRow(String line) {
        try (CSVParser parser = CSVParser.parse(line, SweepCsv.TSV)) {
            return parseRow(parser.getRecords().getFirst().toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static SweepPlan.Row parseRow(List<String> f) {
        if (f.size() != 12) {
            throw new InvalidConfigurationException("plan row " + f + " has " + f.size() + " fields", "12, tab-separated");
        }
        return new SweepPlan.Row(Integer.parseInt(f.get(0)), Integer.parseInt(f.get(1)),
                new SweepPlan.LinkSetting(f.get(2)), Method.valueOf(f.get(3)), Integer.parseInt(f.get(4)),
                Integer.parseInt(f.get(5)), Integer.parseInt(f.get(6)), Integer.parseInt(f.get(7)),
                Integer.parseInt(f.get(8)), Integer.parseInt(f.get(9)), Integer.parseInt(f.get(10)),
                Double.parseDouble(f.get(11)));
    }

    static Topology topology(String mxg) {
        return Topology.parse(mxg);
    }
}
