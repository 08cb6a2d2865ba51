package org.streamfusion.bench;

import java.util.ArrayList;
import java.util.List;
import org.streamfusion.AttentionShape;
import org.streamfusion.InterMachineLink;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.LinkCompression;
import org.streamfusion.Topology;
import org.streamfusion.sim.HardwareProfile;
import org.streamfusion.sim.Simulator;

/**
 * {@code streamfusion plan --cluster MxG --profile h200|a100 [--link SPEC] [--fp8] B S H D}: every mesh of every
 * method simulated on the named hardware (docs/simulator.md), its time split into compute, exposed
 * communication and synchronisation, and the pick. {@code --link} takes {@link InterMachineLink#parse}'s forms
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
                    default -> throw new InvalidConfigurationException("option " + a,
                            "one of --cluster MxG, --profile h200|a100, --link SPEC, --fp8");
                }
            } else {
                shape.add(number(a));
            }
        }
        if (cluster == null || profileName == null || shape.size() != 4) {
            throw new InvalidConfigurationException("plan " + String.join(" ", args),
                    "--cluster MxG --profile h200|a100 [--link SPEC] [--fp8] B S H D");
        }
        HardwareProfile profile = HardwareProfile.named(profileName);
        if (link != null) {
            profile = profile.withLink(InterMachineLink.parse(link));
        }
        return Simulator.of(profile, topology(cluster))
                .explain(AttentionShape.of(shape.get(0), shape.get(1), shape.get(2), shape.get(3)), compression);
    }

    private static Topology topology(String cluster) {
        return Topology.parse(cluster);
    }

    private static int number(String s) {
        try {
            return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            throw new InvalidConfigurationException("'" + s + "' is not a whole number", "B, S, H, D, M and G are integers");
        }
    }
}
