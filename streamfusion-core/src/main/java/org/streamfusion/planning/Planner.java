package org.streamfusion.planning;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import org.streamfusion.AttentionShape;
import org.streamfusion.DeviceMesh;
import org.streamfusion.InterMachineLink;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.LinkClass;
import org.streamfusion.LinkCompression;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.WorkLimits;
import org.streamfusion.sim.HardwareProfile;
import org.streamfusion.sim.SimulatedTime;
import org.streamfusion.sim.Simulator;

/**
 * The one planner: enumerates every mesh of every method for a shape and topology, says why each invalid
 * one is invalid, ranks the valid ones by their layer simulated on a {@link HardwareProfile} (the
 * unchanged schedules on virtual time, docs/simulator.md), and explains the choice with each mesh's bytes
 * per link class from the closed form ({@link CommunicationVolume}) beside its time (docs/algorithms.md,
 * sections 3.4-3.5; the paper's section 4.2). The API, {@code streamfusion plan} and the demo all rank here.
 */
public final class Planner {
    /** The profile {@link #withDefaults()} ranks on, named in every table it prints. */
    public static final String DEFAULT_PROFILE = "h200";

    private final HardwareProfile profile;
    private final boolean isDefault;

    private Planner(HardwareProfile profile, boolean isDefault) {
        this.profile = Objects.requireNonNull(profile, "profile");
        this.isDefault = isDefault;
    }

    /**
     * A planner that ranks meshes by their layer simulated on {@code profile}.
     *
     * @param profile the GPUs and links
     * @return the planner
     * @throws NullPointerException if {@code profile} is null, here rather than at the first ranking
     */
    public static Planner of(HardwareProfile profile) {
        return new Planner(profile, false);
    }

    /**
     * The planner on the {@value #DEFAULT_PROFILE} profile ({@link HardwareProfile#h200()}, the one fitted to
     * this project's measurements); its tables say that the profile is the default.
     *
     * @return the planner
     */
    public static Planner withDefaults() {
        return new Planner(HardwareProfile.named(DEFAULT_PROFILE), true);
    }

    /**
     * The same planner with another network between machines; a default profile stays named as the default.
     *
     * @param link the network between machines
     * @return the planner on this profile with {@code link}
     */
    public Planner withLink(InterMachineLink link) {
        return new Planner(profile.withLink(link), isDefault);
    }

    /** {@return the profile this planner simulates on} */
    public HardwareProfile profile() {
        return profile;
    }

    /** {@return the profile as the tables name it, saying when it is the default} */
    public String describeProfile() {
        return profile + (isDefault ? " (the default profile; Planner.of(profile) or --profile names another)" : "");
    }

    /**
     * One mesh of one method: a plan with its simulated layer and the closed form's bytes per rank, or the rule
     * it breaks.
     *
     * @param method             the method
     * @param t                  torus degree
     * @param u                  Ulysses degree ({@code u'} for the torus methods)
     * @param r                  ring degree
     * @param plan               the plan, or {@code null} when the mesh is invalid
     * @param time               the plan's simulated layer; {@code null} when the mesh is invalid, or when
     *                           {@link #best} or {@link #explain} skipped it because its lower bound passed the
     *                           fastest layer simulated before it
     * @param lowerBoundSeconds  at least how long its layer simulates (the fixed costs of its ring transfers; 0
     *                           when invalid or unknown)
     * @param intraBytes         bytes one rank moves inside its machine, the largest over ranks (0 when invalid)
     * @param interBytes         bytes one rank moves between machines as they cross the wire, the largest over
     *                           ranks (0 when invalid)
     * @param invalidReason      why the mesh is invalid, or {@code null} when it is valid
     */
    public record Candidate(Method method, int t, int u, int r, Plan plan, SimulatedTime time, double lowerBoundSeconds,
            long intraBytes, long interBytes, String invalidReason) {
        /** {@return whether the mesh is valid, i.e. has a plan} */
        public boolean valid() {
            return plan != null;
        }

        /** {@return whether the mesh was simulated, i.e. has a time} */
        public boolean simulated() {
            return time != null;
        }

        /** {@return the simulated layer time in seconds; infinite when invalid or not simulated} */
        public double seconds() {
            return simulated() ? time.totalSeconds() : Double.POSITIVE_INFINITY;
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
     * Every candidate mesh of {@code method}: valid ones first, fastest first; then the invalid ones.
     *
     * @param shape    the attention problem
     * @param topology the machines and GPUs
     * @param method   the method whose meshes are tried
     * @return one candidate per degree triple {@code t*u*r = N} of the method's form, valid or not
     * @throws InvalidConfigurationException if {@code S < N}, or the work passes {@link WorkLimits#SIMULATOR_STEPS}
     */
    public List<Candidate> enumerate(AttentionShape shape, Topology topology, Method method) {
        return rank(shape, topology, List.of(method), LinkCompression.NONE, false);
    }

    /**
     * Every candidate of every method, each simulated.
     *
     * @param shape    the attention problem
     * @param topology the machines and GPUs
     * @return the candidates ranked: valid ones fastest first (ties in {@link Method} order), then the invalid ones
     * @throws InvalidConfigurationException if {@code S < N}, or the work passes {@link WorkLimits#SIMULATOR_STEPS}
     */
    public List<Candidate> enumerate(AttentionShape shape, Topology topology) {
        return enumerate(shape, topology, LinkCompression.NONE);
    }

    /**
     * The same with the inter-machine transfers carrying {@code compression}; a mesh that cannot carry it (a
     * STREAMFUSION mesh whose groups span machines) is listed as invalid with the rule.
     *
     * @param shape       the attention problem
     * @param topology    the machines and GPUs
     * @param compression what the inter-machine transfers carry
     * @return every candidate, ranked: valid ones fastest first, then the invalid ones
     * @throws InvalidConfigurationException if {@code S < N}, or the work passes {@link WorkLimits#SIMULATOR_STEPS}
     */
    public List<Candidate> enumerate(AttentionShape shape, Topology topology, LinkCompression compression) {
        return rank(shape, topology, List.of(Method.values()), compression, false);
    }

    /**
     * Every candidate of {@code methods}, ranked; with {@code skip}, a valid mesh whose lower bound
     * ({@link RingBound}) passes the fastest layer simulated before it is listed unsimulated: it can neither be the
     * fastest nor tie with it. Meshes are simulated in the order of their bounds, so the fast ones come first.
     */
    private List<Candidate> rank(AttentionShape shape, Topology topology, List<Method> methods,
            LinkCompression compression, boolean skip) {
        List<Candidate> out = new ArrayList<>();
        List<Plan> plans = new ArrayList<>();
        double work = 0;
        for (Method m : methods) {
            for (int[] d : degrees(shape, topology, m)) {
                try {
                    Plan p = Plan.of(shape, DeviceMesh.of(topology, m, d[0], d[1], d[2])).withInterMachine(compression);
                    plans.add(p);
                    work += WorkLimits.rankSteps(topology.worldSize(), d[0], d[1], d[2]);
                } catch (InvalidConfigurationException e) {
                    out.add(new Candidate(m, d[0], d[1], d[2], null, null, 0, 0, 0, e.getMessage()));
                }
            }
        }
        // Checked before anything is simulated: the message names the topology, the estimate and the property.
        WorkLimits.check(WorkLimits.SIMULATOR_STEPS, "ranking every " + (methods.size() == 1 ? methods.get(0) + " " : "")
                + "mesh of " + topology + " by simulation", work, "rank-steps");
        Simulator simulator = Simulator.of(profile, topology);
        double[] bound = new double[plans.size()];
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < plans.size(); i++) {
            bound[i] = RingBound.seconds(plans.get(i), profile);
            order.add(i);
        }
        order.sort(Comparator.comparingDouble(i -> bound[i]));
        Candidate[] ranked = new Candidate[plans.size()];
        double fastest = Double.POSITIVE_INFINITY;
        for (int i : order) {
            Plan p = plans.get(i);
            SimulatedTime time = skip && bound[i] > fastest ? null : simulator.simulate(p);
            fastest = time == null ? fastest : Math.min(fastest, time.totalSeconds());
            CommunicationVolume volume = CommunicationVolume.of(p);
            DeviceMesh mesh = p.mesh();
            ranked[i] = new Candidate(p.method(), mesh.torus(), mesh.ulysses(), mesh.ring(), p, time, bound[i],
                    volume.maxWireBytesPerRank(LinkClass.INTRA_MACHINE),
                    volume.maxWireBytesPerRank(LinkClass.INTER_MACHINE), null);
        }
        // Stable: equal times keep the enumeration order (method, then degrees), so the pick is deterministic.
        List<Candidate> valid = new ArrayList<>(List.of(ranked));
        valid.sort(Comparator.comparingDouble(Candidate::seconds));
        valid.addAll(out);
        return valid;
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
     * The fastest valid mesh of {@code method}, by simulated layer time.
     *
     * @param shape    the attention problem
     * @param topology the machines and GPUs
     * @param method   the method whose meshes are tried
     * @return the plan with the shortest simulated layer
     * @throws InvalidConfigurationException if {@code S < N} or no mesh of {@code method} is valid
     */
    public Plan best(AttentionShape shape, Topology topology, Method method) {
        return pick(rank(shape, topology, List.of(method), LinkCompression.NONE, true), shape, topology, method + " ")
                .plan();
    }

    /**
     * The fastest valid plan of any method, by simulated layer time (a mesh that provably cannot be the fastest
     * is not simulated).
     *
     * @param shape    the attention problem
     * @param topology the machines and GPUs
     * @return the plan with the shortest simulated layer
     * @throws InvalidConfigurationException if {@code S < N} or no mesh is valid
     */
    public Plan best(AttentionShape shape, Topology topology) {
        return best(shape, topology, LinkCompression.NONE);
    }

    /**
     * The same with the inter-machine transfers carrying {@code compression}.
     *
     * @param shape       the attention problem
     * @param topology    the machines and GPUs
     * @param compression what the inter-machine transfers carry
     * @return the plan with the shortest simulated layer
     * @throws InvalidConfigurationException if {@code S < N} or no mesh is valid
     */
    public Plan best(AttentionShape shape, Topology topology, LinkCompression compression) {
        return pick(rank(shape, topology, List.of(Method.values()), compression, true), shape, topology, "").plan();
    }

    /**
     * A table of every candidate: its simulated time in parts, the closed form's bytes per link class, and the
     * choice; the title names the profile (and says when it is the default). A mesh whose lower bound passes the
     * fastest layer simulated before it is listed with the bound, unsimulated.
     *
     * @param shape    the attention problem
     * @param topology the machines and GPUs
     * @return the title, one line per candidate, then the choice
     * @throws InvalidConfigurationException if {@code S < N} or no mesh is valid
     */
    public String explain(AttentionShape shape, Topology topology) {
        return explain(shape, topology, LinkCompression.NONE);
    }

    /**
     * The same with the inter-machine transfers carrying {@code compression}.
     *
     * @param shape       the attention problem
     * @param topology    the machines and GPUs
     * @param compression what the inter-machine transfers carry
     * @return the title, one line per candidate, then the choice
     * @throws InvalidConfigurationException if {@code S < N} or no mesh is valid
     */
    public String explain(AttentionShape shape, Topology topology, LinkCompression compression) {
        List<Candidate> ranked = rank(shape, topology, List.of(Method.values()), compression, true);
        return RankingTable.format(ranked, pick(ranked, shape, topology, ""), shape, topology, describeProfile(),
                compression);
    }

    /** The first valid candidate of a ranked list: the fastest. */
    private static Candidate pick(List<Candidate> ranked, AttentionShape shape, Topology topology, String what) {
        if (ranked.isEmpty() || !ranked.get(0).valid()) {
            throw new InvalidConfigurationException("no valid " + what + "mesh for " + shape + " on " + topology
                    + (ranked.isEmpty() ? ": no candidates" : ": " + ranked.get(0).invalidReason()),
                    "at least one mesh satisfies every rule");
        }
        return ranked.get(0);
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
