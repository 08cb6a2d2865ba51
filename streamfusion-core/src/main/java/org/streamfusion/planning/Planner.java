package org.streamfusion.planning;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.streamfusion.AttentionShape;
import org.streamfusion.DeviceMesh;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.WorkLimits;

/**
 * Enumerates every mesh of every method for a shape and topology, says why each invalid one is invalid,
 * ranks the valid ones with a {@link CostModel}, and explains the choice (docs/algorithms.md, sections 3.4-3.5; the paper's section 4.2).
 */
public final class Planner {
    private final CostModel model;

    /**
     * A planner that ranks meshes by {@code model}'s estimates.
     *
     * @param model the cost model
     * @throws NullPointerException if {@code model} is null, here rather than at the first estimate
     */
    public Planner(CostModel model) {
        this.model = Objects.requireNonNull(model, "model");
    }

    /**
     * The paper's testbed ({@link CostModel#a100Efa()}).
     *
     * @return a planner on that cost model
     */
    public static Planner withDefaults() {
        return new Planner(CostModel.a100Efa());
    }

    /**
     * H200 machines calibrated from this project's measurements, joined by {@code link}.
     *
     * @param link the network between the machines
     * @return a planner on {@link CostModel#h200(InterMachineLink)}
     */
    public static Planner h200(InterMachineLink link) {
        return new Planner(CostModel.h200(link));
    }

    /** {@return the cost model this planner ranks by} */
    public CostModel model() {
        return model;
    }

    /**
     * One mesh of one method: a plan with its estimate, or the rule it breaks.
     *
     * @param method        the method
     * @param t             torus degree
     * @param u             Ulysses degree ({@code u'} for the torus methods)
     * @param r             ring degree
     * @param plan          the plan, or {@code null} when the mesh is invalid
     * @param estimate      the plan's estimate, or {@code null} when the mesh is invalid
     * @param invalidReason why the mesh is invalid, or {@code null} when it is valid
     */
    public record Candidate(Method method, int t, int u, int r, Plan plan, CostModel.Estimate estimate, String invalidReason) {
        /** {@return whether the mesh is valid, i.e. has a plan} */
        public boolean valid() {
            return plan != null;
        }

        /** {@return the method's degrees as text, e.g. {@code t=2 u'=4 r=2}} */
        public String degrees() {
            return switch (method) {
                case ULYSSES -> "u=" + u;
                case RING -> "r=" + r;
                case USP, TAS -> "u=" + u + " r=" + r;
                case TORUS_TWO_SIDED, STREAMFUSION -> "t=" + t + " u'=" + u + " r=" + r;
            };
        }
    }

    /**
     * Every candidate mesh of {@code method}: valid ones first, cheapest first; then the invalid ones.
     *
     * @param shape    the attention problem
     * @param topology the machines and GPUs
     * @param method   the method whose meshes are tried
     * @return one candidate per degree triple {@code t*u*r = N} of the method's form, valid or not
     * @throws InvalidConfigurationException if {@code S < N}, or the work passes
     *                                       {@link WorkLimits#PLANNER_STEPS}
     */
    public List<Candidate> enumerate(AttentionShape shape, Topology topology, Method method) {
        List<int[]> degrees = degrees(shape, topology, method);
        WorkLimits.check(WorkLimits.PLANNER_STEPS, "ranking the " + method + " meshes of " + topology,
                WorkLimits.rankSteps(topology, degrees), "rank-steps");
        List<Candidate> out = new ArrayList<>();
        for (int[] d : degrees) {
            try {
                Plan p = Plan.of(shape, DeviceMesh.of(topology, method, d[0], d[1], d[2]));
                out.add(new Candidate(method, d[0], d[1], d[2], p, model.estimate(p), null));
            } catch (InvalidConfigurationException e) {
                out.add(new Candidate(method, d[0], d[1], d[2], null, null, e.getMessage()));
            }
        }
        out.sort(Comparator.comparing((Candidate c) -> !c.valid())
                .thenComparingDouble(c -> c.valid() ? c.estimate().seconds() : 0));
        return out;
    }

    /**
     * The degree triples {@code (t, u, r)}, {@code t*u*r = N}, of {@code method}'s form.
     *
     * @param shape    the attention problem
     * @param topology the machines and GPUs
     * @param method   the method
     * @return every triple the planner tries
     * @throws InvalidConfigurationException if {@code S < N}
     */
    public static List<int[]> degrees(AttentionShape shape, Topology topology, Method method) {
        int n = topology.worldSize();
        shape.localSeqLen(n);
        List<int[]> degrees = new ArrayList<>();
        switch (method) {
            case ULYSSES -> degrees.add(new int[] {1, n, 1});
            case RING -> degrees.add(new int[] {1, 1, n});
            case USP, TAS -> {
                for (int u : divisors(n)) {
                    degrees.add(new int[] {1, u, n / u});
                }
            }
            case TORUS_TWO_SIDED, STREAMFUSION -> {
                for (int t : divisors(n)) {
                    for (int u : divisors(n / t)) {
                        degrees.add(new int[] {t, u, n / t / u});
                    }
                }
            }
        }
        return degrees;
    }

    /**
     * Every candidate of every method.
     *
     * @param shape    the attention problem
     * @param topology the machines and GPUs
     * @return the candidates method by method, in {@link Method} order, each method's sorted as by
     *         {@link #enumerate(AttentionShape, Topology, Method)}
     * @throws InvalidConfigurationException if {@code S < N}, or the work passes
     *                                       {@link WorkLimits#PLANNER_STEPS}
     */
    public List<Candidate> enumerate(AttentionShape shape, Topology topology) {
        List<int[]> every = new ArrayList<>();
        for (Method m : Method.values()) {
            every.addAll(degrees(shape, topology, m));
        }
        WorkLimits.check(WorkLimits.PLANNER_STEPS, "ranking every mesh of " + topology, WorkLimits.rankSteps(topology,
                every), "rank-steps");
        List<Candidate> all = new ArrayList<>();
        for (Method m : Method.values()) {
            all.addAll(enumerate(shape, topology, m));
        }
        return all;
    }

    /**
     * The cheapest valid mesh of {@code method}.
     *
     * @param shape    the attention problem
     * @param topology the machines and GPUs
     * @param method   the method whose meshes are tried
     * @return the plan with the lowest estimate
     * @throws InvalidConfigurationException if {@code S < N} or no mesh of {@code method} is valid
     */
    public Plan best(AttentionShape shape, Topology topology, Method method) {
        List<Candidate> c = enumerate(shape, topology, method);
        if (c.isEmpty() || !c.get(0).valid()) {
            throw new InvalidConfigurationException("no valid " + method + " mesh for " + shape + " on " + topology + ": "
                    + (c.isEmpty() ? "no candidates" : c.get(0).invalidReason()), "at least one mesh satisfies every rule");
        }
        return c.get(0).plan();
    }

    /**
     * The cheapest valid plan of any method.
     *
     * @param shape    the attention problem
     * @param topology the machines and GPUs
     * @return the plan with the lowest estimate
     * @throws InvalidConfigurationException if {@code S < N} or no mesh is valid
     */
    public Plan best(AttentionShape shape, Topology topology) {
        return enumerate(shape, topology).stream().filter(Candidate::valid)
                .min(Comparator.comparingDouble(c -> c.estimate().seconds()))
                .orElseThrow(() -> new InvalidConfigurationException("no valid mesh for " + shape + " on " + topology,
                        "at least one mesh satisfies every rule"))
                .plan();
    }

    /**
     * A table of every candidate with its estimate, and the choice.
     *
     * @param shape    the attention problem
     * @param topology the machines and GPUs
     * @return the shape, link and cost model, then one line per candidate, then the choice
     * @throws InvalidConfigurationException if {@code S < N} or no mesh is valid
     */
    public String explain(AttentionShape shape, Topology topology) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%s on %d machines x %d GPUs%n", shape, topology.machines(),
                topology.gpusPerMachine()));
        sb.append("inter-machine link: ").append(model.link()).append('\n');
        sb.append("cost model: ").append(model.describe()).append('\n');
        sb.append(String.format(Locale.ROOT, "%-16s %-16s %10s %10s %10s %10s %12s %12s  %s%n", "method", "mesh", "est. ms",
                "compute", "exposed", "overlap", "intra MB/GPU", "inter MB/GPU", "note"));
        for (Candidate c : enumerate(shape, topology)) {
            if (c.valid()) {
                CostModel.Estimate e = c.estimate();
                sb.append(String.format(Locale.ROOT, "%-16s %-16s %10.3f %10.3f %10.3f %10.3f %12.2f %12.2f%n", c.method(),
                        c.degrees(), e.seconds() * 1e3, e.computeSeconds() * 1e3, e.exposedCommSeconds() * 1e3,
                        e.overlappedCommSeconds() * 1e3, e.intraBytes() / 1e6, e.interBytes() / 1e6));
            } else {
                sb.append(String.format(Locale.ROOT, "%-16s %-16s %10s %10s %10s %10s %12s %12s  invalid: %s%n", c.method(),
                        c.degrees(), "-", "-", "-", "-", "-", "-", c.invalidReason()));
            }
        }
        Plan best = best(shape, topology);
        sb.append("chosen: ").append(best.mesh()).append('\n');
        return sb.toString();
    }

    static List<Integer> divisors(int n) {
        // Up to sqrt(n), each with its partner: N = 800,000 ranks would otherwise cost 800,000 divisions per level.
        List<Integer> low = new ArrayList<>();
        List<Integer> high = new ArrayList<>();
        for (int i = 1; (long) i * i <= n; i++) {
            if (n % i == 0) {
                low.add(i);
                if (i != n / i) {
                    high.add(0, n / i);
                }
            }
        }
        low.addAll(high);
        return low;
    }
}
