package org.streamfusion.planning;

import org.streamfusion.AttentionShape;
import org.streamfusion.DeviceMesh;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.LinkClass;
import org.streamfusion.LinkCompression;
import org.streamfusion.Plan;
import org.streamfusion.ProcessGroup;

/**
 * Closed-form volumes (in elements) that one layer of a plan moves, per initiating rank and link class,
 * split into the part a method overlaps with attention and the part it does not. The derivation is in
 * {@code docs/communication-volume.md}; the CPU world's byte counters are tested against it.
 *
 * <p>With {@code E_N = B*(S/N)*H*D} (one local tensor) and {@code u = t*u'} the head split:
 * Ulysses all-to-all sends {@code E_N/u} to every group member (four tensors); one ring step moves
 * {@code 2*E_N/t} (K and V of one torus chunk; {@code t = 1} outside the torus methods).
 */
public final class CommunicationVolume {
    /** Elements moved by one rank, by link class, and how many transfers it issued. */
    public static final class RankVolume {
        // By LinkClass ordinal: a 4096-rank torus mesh adds tens of millions of transfers, and boxed map entries made
        // the closed form most of the ranking's time.
        private static final int CLASSES = LinkClass.values().length;
        private final long[] exposed = new long[CLASSES];
        private final long[] overlapped = new long[CLASSES];
        private final int[] transfersByClass = new int[CLASSES];
        private int transfers;

        RankVolume() {
        }

        void add(LinkClass c, long elements, boolean hidden) {
            (hidden ? overlapped : exposed)[c.ordinal()] += elements;
            transfersByClass[c.ordinal()]++;
            transfers++;
        }

        /**
         * All elements over class {@code c}.
         *
         * @param c the link class
         * @return exposed plus overlapped elements
         */
        public long elements(LinkClass c) {
            return exposed[c.ordinal()] + overlapped[c.ordinal()];
        }

        /**
         * Elements a method moves while attention runs (ring steps, torus stages).
         *
         * @param c the link class
         * @return overlapped elements over {@code c}
         */
        public long overlappedElements(LinkClass c) {
            return overlapped[c.ordinal()];
        }

        /**
         * Elements a method moves while no attention runs (all-to-alls, the intra-machine step, Push O).
         *
         * @param c the link class
         * @return exposed elements over {@code c}
         */
        public long exposedElements(LinkClass c) {
            return exposed[c.ordinal()];
        }

        /** {@return transfers this rank issued over every class, copies to itself included} */
        public int transfers() {
            return transfers;
        }

        /**
         * Transfers over class {@code c}: the messages an inter-machine link adds its latency to.
         *
         * @param c the link class
         * @return transfers this rank issued over {@code c}
         */
        public int transfers(LinkClass c) {
            return transfersByClass[c.ordinal()];
        }
    }

    private final Plan plan;
    private final RankVolume[] ranks;

    private CommunicationVolume(Plan plan) {
        this(plan, 0, plan.mesh().worldSize());
    }

    /** The volumes of ranks {@code [from, to)}; the others stay {@code null}. */
    private CommunicationVolume(Plan plan, int from, int to) {
        this.plan = plan;
        int n = plan.mesh().worldSize();
        ranks = new RankVolume[n];
        for (int g = from; g < to; g++) {
            ranks[g] = new RankVolume();
            switch (plan.method()) {
                case ULYSSES, RING, USP, TAS -> ulyssesRing(g, ranks[g]);
                case TORUS_TWO_SIDED -> torus(g, ranks[g], false);
                case STREAMFUSION -> torus(g, ranks[g], true);
            }
        }
    }

    /**
     * The volumes of every rank of {@code plan}.
     *
     * @param plan the plan whose layer is counted
     * @return one {@link RankVolume} per rank
     */
    public static CommunicationVolume of(Plan plan) {
        return new CommunicationVolume(plan);
    }

    /**
     * Rank {@code g}'s volumes alone, without the other ranks': the cost of one rank's own transfers.
     *
     * @param plan the plan whose layer is counted
     * @param g    global rank, {@code 0 <= g < N}
     * @return the transfers rank {@code g} initiates
     * @throws InvalidConfigurationException if {@code g} is outside {@code [0, N)}
     */
    public static RankVolume ofRank(Plan plan, int g) {
        if (g < 0 || g >= plan.mesh().worldSize()) {
            throw new InvalidConfigurationException("rank " + g + " outside the world of " + plan.mesh().worldSize(),
                    "0 <= rank < N");
        }
        return new CommunicationVolume(plan, g, g + 1).ranks[g];
    }

    /** {@return the plan these volumes are of} */
    public Plan plan() {
        return plan;
    }

    /**
     * Rank {@code g}'s volumes.
     *
     * @param g global rank, {@code 0 <= g < N}
     * @return the transfers rank {@code g} initiates
     */
    public RankVolume rank(int g) {
        return ranks[g];
    }

    /**
     * Elements over class {@code c}, all ranks together.
     *
     * @param c the link class
     * @return the sum over ranks of {@link RankVolume#elements}
     */
    public long total(LinkClass c) {
        long s = 0;
        for (RankVolume r : ranks) {
            s += r.elements(c);
        }
        return s;
    }

    /**
     * The largest per-rank volume over class {@code c}: the rank the layer waits for.
     *
     * @param c the link class
     * @return the largest {@link RankVolume#elements} of any rank, in elements
     */
    public long maxPerRank(LinkClass c) {
        long m = 0;
        for (RankVolume r : ranks) {
            m = Math.max(m, r.elements(c));
        }
        return m;
    }

    /**
     * The largest per-rank bytes over class {@code c} as they cross the wire: the element type's bytes, or
     * between machines under {@link LinkCompression#FP8_E4M3} one byte per element and a 4-byte scale per
     * {@code D} elements (docs/algorithms.md, section 7).
     *
     * @param c the link class
     * @return the largest per-rank wire bytes of any rank, rounded to a whole byte
     */
    public long maxWireBytesPerRank(LinkClass c) {
        return Math.round(maxPerRank(c) * wireBytesPerElement(plan, c));
    }

    /** Bytes per element on class {@code c} for {@code plan}: what the closed form and the planner's table count. */
    static double wireBytesPerElement(Plan plan, LinkClass c) {
        boolean compressed = c == LinkClass.INTER_MACHINE && plan.interMachine() != LinkCompression.NONE
                && plan.mesh().topology().machines() > 1;
        // e4m3: one byte per element, a 4-byte scale per D elements and a bf16 slot per 32 blocks (docs/algorithms.md,
        // section 7; the 4-byte centre per channel of a chunk is left out: 4/tokens)
        return compressed ? 1 + 4.0 / plan.shape().headDim() + 2.0 / 32 : plan.shape().dtype().bytes();
    }

    private long localElements() {
        AttentionShape s = plan.shape();
        return (long) s.batch() * plan.localSeqLen() * s.heads() * s.headDim();
    }

    private LinkClass link(int from, int to) {
        return plan.mesh().topology().linkBetween(from, to);
    }

    /** USP family: 4 all-to-alls of degree u (when u > 1), then r-1 two-sided passes of K and V. */
    private void ulyssesRing(int g, RankVolume v) {
        DeviceMesh mesh = plan.mesh();
        long en = localElements();
        int u = mesh.ulysses();
        int r = mesh.ring();
        if (u > 1) {
            ProcessGroup ug = mesh.ulyssesGroup(g);
            for (int tensor = 0; tensor < 4; tensor++) {
                for (int p : ug.ranks()) {
                    v.add(link(g, p), en / u, false);
                }
            }
        }
        ProcessGroup rg = mesh.ringGroup(g);
        int next = rg.member((rg.indexOf(g) + 1) % r);
        for (int s = 0; s < r - 1; s++) {
            v.add(link(g, next), en, true);
            v.add(link(g, next), en, true);
        }
    }

    /** Torus methods: intra step, torus chunks, ring steps of the (2t-1) stages, Push O. */
    private void torus(int g, RankVolume v, boolean oneSided) {
        DeviceMesh mesh = plan.mesh();
        int t = mesh.torus();
        int u = mesh.ulysses();
        int r = mesh.ring();
        long en = localElements();
        long chunk = en / ((long) t * u); // one [B, S/N, Ht, D] chunk
        int l = mesh.torusIndex(g);
        int a = mesh.ulyssesIndex(g);
        int b = mesh.ringIndex(g);
        // 1. intra-machine: t chunks of Q, K and V to every member (itself included).
        for (int tensor = 0; tensor < 3; tensor++) {
            for (int p : mesh.ulyssesGroup(g).ranks()) {
                for (int s = 0; s < t; s++) {
                    v.add(link(g, p), chunk, false);
                }
            }
        }
        // 2. torus: u chunks of Q, K, V from (or, two-sided, to) each other torus member.
        for (int i = 1; i < t; i++) {
            int peer = oneSided ? mesh.rankOf((l + i) % t, a, b) : mesh.rankOf((l - i + t) % t, a, b);
            for (int tensor = 0; tensor < 3; tensor++) {
                v.add(link(g, peer), u * chunk, true);
            }
        }
        // 3-4. t Pull Q stages and t-1 Pull KV stages, each a full ring pass over one K, V torus chunk.
        ProcessGroup rg = mesh.ringGroup(g);
        for (int stage = 0; stage < 2 * t - 1; stage++) {
            for (int s = 1; s < r; s++) {
                int peer = oneSided ? rg.member((b + s) % r) : rg.member((b + 1) % r);
                v.add(link(g, peer), u * chunk, true);
                v.add(link(g, peer), u * chunk, true);
            }
        }
        // 5. Push O: chunk j of O[c] to its home (c, j, b).
        for (int c = 0; c < t; c++) {
            for (int j = 0; j < u; j++) {
                v.add(link(g, mesh.rankOf(c, j, b)), chunk, false);
            }
        }
    }
}
