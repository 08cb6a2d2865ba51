package org.streamfusion.bench;

import java.util.Locale;
import java.util.concurrent.Callable;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.InterMachineLink;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.LinkCompression;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.planning.Planner;
import org.streamfusion.sim.HardwareProfile;
import org.streamfusion.sim.SimulatedTime;
import org.streamfusion.sim.Simulator;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code streamfusion plan --topology MxG [--profile h200|a100] [--link SPEC] [--fp8] [--mesh METHOD:t/u/r]} and the
 * shape options: the planner's table ({@link Planner#explain}), every mesh of every method ranked by its layer
 * simulated on the profile (docs/simulator.md), each split into compute, exposed communication and synchronisation
 * beside the closed form's bytes per link class, and the choice; without {@code --profile}, the default profile,
 * named as the default in the output. With {@code --mesh}, that one mesh only, and how long simulating it took.
 * {@code --link} takes {@link InterMachineLink#parse}'s forms and replaces the profile's own link; {@code --fp8}
 * carries e4m3 between machines ({@link LinkCompression#FP8_E4M3}). {@code simulate} is the same command.
 */
@Command(name = "plan", description = "Every mesh of every method ranked by its simulated layer, its time in parts,"
        + " the bytes per link class, and the choice.")
class PlanCommand implements Callable<Integer> {
    @Option(names = {"-t", "--topology"}, required = true, paramLabel = "MxG", converter = TopologyConverter.class,
            description = "the cluster, M machines x G GPUs, e.g. 4x8")
    Topology topology;

    @Option(names = {"-B", "--batch"}, paramLabel = "B", description = "batch size B (default: ${DEFAULT-VALUE})")
    int batch = 1;

    @Mixin
    ShapeOptions size = new ShapeOptions(4608, 24, 128);

    @Option(names = "--profile", paramLabel = "NAME", description = "the hardware: h200 or a100 (default: "
            + Planner.DEFAULT_PROFILE + ", named as the default in the output)")
    String profileName;

    @Option(names = "--link", paramLabel = "SPEC", description = "the inter-machine link instead of the profile's: a"
            + " preset (rail-400G, p4de-400G, eth-100G, unlimited), PRESET/gpu-of-N, or GBPS,LATENCY_US,per-gpu|per-machine|K-per-machine;"
            + " any of them followed by ,proxy for a link a CPU proxy drives through host memory")
    String link;

    @Option(names = "--fp8", description = "carry e4m3 between machines")
    boolean fp8;

    @Option(names = "--mesh", paramLabel = "METHOD:t/u/r", description = "simulate this mesh alone, e.g. STREAMFUSION:8/1/64")
    String mesh;

    /** {@code MxG} as a {@link Topology}; a bad one is a usage error naming it and the rule. */
    static final class TopologyConverter implements ITypeConverter<Topology> {
        @Override
        public Topology convert(String value) {
            try {
                return Topology.parse(value);
            } catch (InvalidConfigurationException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    /** {@return the bf16 layer the options describe} */
    AttentionShape shape() {
        return size.shape(batch, DType.BF16);
    }

    /** {@return the planner the options name: the default one without {@code --profile} or {@code --link}} */
    Planner planner() {
        Planner base = profileName == null ? Planner.withDefaults() : Planner.of(HardwareProfile.named(profileName));
        return link == null ? base : base.withLink(InterMachineLink.parse(link));
    }

    /**
     * Prints the table, or the one mesh.
     *
     * @return 0
     */
    @Override
    public Integer call() {
        System.out.print(explain());
        return 0;
    }

    String explain() {
        LinkCompression compression = fp8 ? LinkCompression.FP8_E4M3 : LinkCompression.NONE;
        Planner planner = planner();
        AttentionShape attention = shape();
        if (mesh == null) {
            return planner.explain(attention, topology, compression);
        }
        Plan plan = Plan.of(attention, MeshOption.mesh(topology, mesh)).withInterMachine(compression);
        long start = System.nanoTime();
        SimulatedTime t = Simulator.of(planner.profile(), topology).simulate(plan);
        double wall = (System.nanoTime() - start) / 1e9;
        return String.format(Locale.ROOT, "%s, simulated on %s%n%.3f ms (compute %.3f, exposed %.3f, sync %.3f);"
                + " critical rank %d; simulated in %.2f s of wall time%n", plan, planner.describeProfile(),
                t.totalSeconds() * 1e3, t.computeSeconds() * 1e3, t.exposedCommunicationSeconds() * 1e3,
                t.synchronisationSeconds() * 1e3, t.criticalRank(), wall);
    }
}
