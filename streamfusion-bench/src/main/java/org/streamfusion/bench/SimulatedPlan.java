package org.streamfusion.bench;

import java.util.ArrayList;
import java.util.List;
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

/**
 * {@code streamfusion plan --cluster MxG --profile h200|a100 [--link SPEC] [--fp8] [--mesh METHOD:t/u/r] B S H D}:
 * every mesh of every method simulated on the named hardware (docs/simulator.md), its time split into compute,
 * exposed communication and synchronisation, and the pick; with {@code --mesh}, that one mesh only, and how long
 * simulating it took. {@code --link} takes {@link InterMachineLink#parse}'s forms
 * and replaces the profile's own link; {@code --fp8} carries e4m3 between machines
 * ({@link LinkCompression#FP8_E4M3}).
 */
final class SimulatedPlan {
    private SimulatedPlan() {
    }

    static int run(String[] args) {
        try {
            System.out.print(explain(args));
            return 0;
        } catch (InvalidConfigurationException e) {
            System.err.println(e.getMessage());
            return 2;
        }
    }

    static String explain(String[] args) {
        String cluster = null;
        String profileName = null;
        String link = null;
        String mesh = null;
        LinkCompression compression = LinkCompression.NONE;
        List<Integer> shape = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--fp8")) {
                compression = LinkCompression.FP8_E4M3;
            } else if (a.startsWith("--")) {
                if (i + 1 >= args.length) {
                    throw new InvalidConfigurationException("option " + a + " without a value", "--option VALUE");
                }
                String value = args[++i];
                switch (a) {
                    case "--cluster" -> cluster = value;
                    case "--profile" -> profileName = value;
                    case "--link" -> link = value;
                    case "--mesh" -> mesh = value;
                    default -> throw new InvalidConfigurationException("option " + a,
                            "one of --cluster MxG, --profile h200|a100, --link SPEC, --fp8, --mesh METHOD:t/u/r");
                }
            } else {
                shape.add(number(a));
            }
        }
        if (cluster == null || profileName == null || shape.size() != 4) {
            throw new InvalidConfigurationException("plan " + String.join(" ", args),
                    "--cluster MxG --profile h200|a100 [--link SPEC] [--fp8] [--mesh METHOD:t/u/r] B S H D");
        }
        HardwareProfile profile = HardwareProfile.named(profileName);
        if (link != null) {
            profile = profile.withLink(InterMachineLink.parse(link));
        }
        Topology topology = topology(cluster);
        AttentionShape attention = AttentionShape.of(shape.get(0), shape.get(1), shape.get(2), shape.get(3));
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

    private static Topology topology(String cluster) {
        return Topology.parse(cluster);
    }

    private static int number(String s) {
        try {
            return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            throw new InvalidConfigurationException("'" + s + "' is not a whole number", "B, S, H, D, M, G, t, u and r are integers");
        }
    }
}
