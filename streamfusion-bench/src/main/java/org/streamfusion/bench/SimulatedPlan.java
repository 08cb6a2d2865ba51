package org.streamfusion.bench;

import java.util.Locale;
import org.streamfusion.AttentionShape;
import org.streamfusion.DeviceMesh;
import org.streamfusion.planning.InterMachineLink;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.LinkCompression;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.sim.HardwareProfile;
import org.streamfusion.sim.SimulatedTime;
import org.streamfusion.sim.Simulator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code streamfusion simulate --topology MxG --profile h200|a100 [--link SPEC] [--fp8] [--mesh METHOD:t/u/r]} and
 * {@code plan}'s shape options: every mesh of every method simulated on the named hardware (docs/simulator.md), its
 * time split into compute, exposed communication and synchronisation, and the pick; with {@code --mesh}, that one
 * mesh only, and how long simulating it took. {@code --link} takes {@link InterMachineLink#parse}'s forms and replaces
 * the profile's own link; {@code --fp8} carries e4m3 between machines ({@link LinkCompression#FP8_E4M3}).
 */
@Command(name = "simulate", description = "Every mesh simulated on named hardware, its time in parts, the pick.")
final class SimulatedPlan extends PlanCommand {
    @Option(names = "--profile", required = true, paramLabel = "NAME", description = "the hardware: h200 or a100")
    String profileName;

    @Option(names = "--link", paramLabel = "SPEC", description = "the inter-machine link instead of the profile's: a"
            + " preset (rail-400G, p4de-400G, eth-100G, unlimited), PRESET/gpu-of-N, or GBPS,LATENCY_US,per-gpu|per-machine")
    String link;

    @Option(names = "--fp8", description = "carry e4m3 between machines")
    boolean fp8;

    @Option(names = "--mesh", paramLabel = "METHOD:t/u/r", description = "simulate this mesh alone, e.g. STREAMFUSION:8/1/64")
    String mesh;

    /**
     * Prints the ranking, or the one mesh.
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
        HardwareProfile profile = HardwareProfile.named(profileName);
        if (link != null) {
            profile = profile.withLink(InterMachineLink.parse(link));
        }
        AttentionShape attention = shape();
        Simulator simulator = Simulator.of(profile, topology);
        if (mesh == null) {
            return simulator.explain(attention, compression);
        }
        Plan plan = Plan.of(attention, mesh(topology, mesh)).withInterMachine(compression);
        long start = System.nanoTime();
        SimulatedTime t = simulator.simulate(plan);
        double wall = (System.nanoTime() - start) / 1e9;
        return String.format(Locale.ROOT, "%s, simulated on %s%n%.3f ms (compute %.3f, exposed %.3f, sync %.3f);"
                + " critical rank %d; simulated in %.2f s of wall time%n", plan, profile, t.totalSeconds() * 1e3,
                t.computeSeconds() * 1e3, t.exposedCommunicationSeconds() * 1e3, t.synchronisationSeconds() * 1e3,
                t.criticalRank(), wall);
    }

    /** {@code METHOD:t/u/r}, e.g. {@code STREAMFUSION:8/1/64}. */
    static DeviceMesh mesh(Topology topology, String text) {
        String[] parts = text.split(":");
        String[] degrees = parts.length == 2 ? parts[1].split("/") : new String[0];
        if (degrees.length != 3) {
            throw new InvalidConfigurationException("mesh '" + text + "'", "METHOD:t/u/r, e.g. STREAMFUSION:8/1/64");
        }
        Method method;
        try {
            method = Method.valueOf(parts[0].trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new InvalidConfigurationException("method '" + parts[0] + "' of mesh '" + text + "'",
                    "one of " + java.util.Arrays.toString(Method.values()));
        }
        return DeviceMesh.of(topology, method, number(degrees[0]), number(degrees[1]), number(degrees[2]));
    }

    private static int number(String s) {
        try {
            return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            throw new InvalidConfigurationException("'" + s + "' is not a whole number", "a mesh's t, u and r are whole numbers");
        }
    }
}
