package org.streamfusion;

import java.util.List;
import java.util.Locale;

/**
 * Work that grows faster than its input is estimated before it starts and refused past a limit, so a large
 * argument fails in milliseconds with the estimate and the limit instead of running for hours or filling the
 * heap. Each limit is a system property that raises (or lowers) it, e.g.
 * {@code -Dstreamfusion.limit.simulatorSteps=2e7}; docs/architecture.md lists them.
 *
 * <p>Ranking the meshes (the planner simulates each) costs about one unit per rank and step of each mesh's
 * schedule: {@code N * (t*r + t*u + u)} for degrees {@code t, u, r} ({@link #rankSteps}). On a shared
 * 2-core machine the simulator runs about 100,000 units per second.
 */
public final class WorkLimits {
    /** The planner's ranking, a sweep's predictions or one layer, simulated: 5 million rank-steps (64x8: 4.0 million). */
    public static final String SIMULATOR_STEPS = "streamfusion.limit.simulatorSteps";
    /** The float64 reference attention: {@code 4*B*H*Sq*Skv*D} = 2e11 flops (a few minutes on one core). */
    public static final String REFERENCE_FLOPS = "streamfusion.limit.referenceFlops";

    private static final double SIMULATOR_DEFAULT = 5e6;
    private static final double REFERENCE_DEFAULT = 2e11;

    private WorkLimits() {
    }

    /**
     * The work of one mesh's schedule in rank-steps, {@code N * (t*r + t*u + u)}, saturated at
     * {@code Long.MAX_VALUE}.
     *
     * @param worldSize GPUs {@code N}
     * @param t         torus degree
     * @param u         Ulysses degree
     * @param r         ring degree
     * @return the estimate
     */
    public static double rankSteps(int worldSize, int t, int u, int r) {
        return (double) worldSize * ((double) t * r + (double) t * u + u);
    }

    /**
     * The rank-steps of every degree triple {@code t*u*r = N} the planner tries for {@code topology}.
     *
     * @param topology the machines and GPUs
     * @param triples  the degree triples
     * @return their sum
     */
    public static double rankSteps(Topology topology, List<int[]> triples) {
        double sum = 0;
        for (int[] d : triples) {
            sum += rankSteps(topology.worldSize(), d[0], d[1], d[2]);
        }
        return sum;
    }

    /**
     * Refuses {@code estimate} past the limit the property {@code property} names (or its default).
     *
     * @param property one of this class's property names
     * @param what     the work, for the message, e.g. {@code "simulated ranking of 256x8"}
     * @param estimate the estimated work
     * @param unit     its unit, e.g. {@code "rank-steps"}
     * @throws InvalidConfigurationException naming the estimate, the limit and how to raise it
     */
    public static void check(String property, String what, double estimate, String unit) {
        double limit = limit(property);
        if (!(estimate <= limit)) {
            throw new InvalidConfigurationException(String.format(Locale.ROOT, "%s needs about %.3g %s", what, estimate,
                    unit), String.format(Locale.ROOT, "at most %.3g %s; raise it with -D%s=N", limit, unit, property));
        }
    }

    /**
     * The limit in force for {@code property}: the system property's value, else the default.
     *
     * @param property one of this class's property names
     * @return the limit
     * @throws InvalidConfigurationException if the property is set but is not a positive number
     */
    public static double limit(String property) {
        double fallback = switch (property) {
            case SIMULATOR_STEPS -> SIMULATOR_DEFAULT;
            case REFERENCE_FLOPS -> REFERENCE_DEFAULT;
            default -> throw new InvalidArgumentException("no work limit named " + property);
        };
        String text = System.getProperty(property);
        if (text == null) {
            return fallback;
        }
        try {
            double v = Double.parseDouble(text.trim());
            if (v > 0 && !Double.isNaN(v)) {
                return v;
            }
        } catch (NumberFormatException e) {
            // named below
        }
        throw new InvalidConfigurationException(property + "=" + text, property + " is a positive number");
    }
}
