package org.streamfusion.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.DeviceMesh;
import org.streamfusion.InterMachineLink;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.LinkCompression;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.planning.Planner;
import org.streamfusion.Topology;
import org.streamfusion.WorkLimits;
import org.streamfusion.sim.HardwareProfile;
import org.streamfusion.sim.Simulator;

/**
 * What a layerwise sweep runs: every valid mesh of every chosen method of the logical topology, for
 * every link setting and every (S, D, B), each with its layer simulated on the H200 profile (the planner's clock). Rows are grouped
 * by link setting, because the emulated link is a JVM property of the ranks: one launch per setting.
 */
public final class SweepPlan {
    /**
     * {@code none} = no emulation (the logical machines talk over NVLink); else an {@link InterMachineLink#parse}
     * spec. A {@value #FP8} suffix runs the setting's layers with e4m3 on their inter-machine transfers
     * ({@link LinkCompression#FP8_E4M3}).
     *
     * @param spec the setting as given, trimmed, e.g. {@code rail-400G+fp8}
     */
    public record LinkSetting(String spec) {
        /** The setting without emulation. */
        public static final String NONE = "none";
        /** The suffix that compresses inter-machine transfers to e4m3. */
        public static final String FP8 = "+fp8";

        /**
         * Trims {@code spec} and parses its link now, so a bad spec fails before any GPU work.
         *
         * @throws InvalidConfigurationException if the link is neither {@code none} nor a valid link spec
         */
        public LinkSetting {
            spec = spec.trim();
            String link = link(spec);
            if (!link.equalsIgnoreCase(NONE)) {
                InterMachineLink.parse(link); // fails here, naming the forms, rather than on the GPUs
            }
        }

        private static String link(String spec) {
            return spec.toLowerCase(Locale.ROOT).endsWith(FP8) ? spec.substring(0, spec.length() - FP8.length()).trim() : spec;
        }

        /** {@return the emulated link's spec, without the compression suffix} */
        public String linkSpec() {
            return link(spec);
        }

        /** {@return what the setting's inter-machine transfers carry} */
        public LinkCompression compression() {
            return linkSpec().equals(spec) ? LinkCompression.NONE : LinkCompression.FP8_E4M3;
        }

        /** {@return whether a link is emulated, i.e. the link part is not {@code none}} */
        public boolean emulated() {
            return !linkSpec().equalsIgnoreCase(NONE);
        }

        /**
         * {@return how outputs name it: the link's own name, or {@code none}; then {@value #FP8} when
         * compressed}
         */
        public String label() {
            return (emulated() ? InterMachineLink.parse(linkSpec()).name() : NONE)
                    + (compression() == LinkCompression.NONE ? "" : FP8);
        }

        /**
         * The simulator that predicts this setting's rows. With no emulation the logical machines are one host's
         * GPUs ({@link Simulator#onOneHost}). An emulated link's bytes still move over NVLink, so a link faster per
         * GPU than NVLink is bounded by it.
         *
         * @param profile  the GPUs, and the NVLink rate that bounds the link
         * @param topology the logical machines; their GPUs share a per-machine NIC
         * @return the simulator to predict with
         */
        public Simulator simulator(HardwareProfile profile, Topology topology) {
            if (!emulated()) {
                return Simulator.onOneHost(profile, topology);
            }
            double nvlink = profile.nvlinkBytesPerSecond();
            InterMachineLink link = InterMachineLink.parse(linkSpec());
            if (link.perGpuBytesPerSecond(topology.gpusPerMachine()) >= nvlink) {
                link = new InterMachineLink(link.name() + " (bounded by NVLink)", nvlink, link.latencySeconds(),
                        InterMachineLink.Nics.PER_GPU);
            }
            return Simulator.of(profile.withLink(link), topology);
        }

        /**
         * A comma-separated list of settings, where a custom link ({@code GBPS,LATENCY_US,per-gpu}) keeps
         * its own commas: a token that is a number starts a custom link of three tokens.
         *
         * @param list e.g. {@code none,rail-400G,12.5,10,per-gpu}
         * @return the settings, in the order given
         * @throws InvalidConfigurationException if the list is empty, ends inside a custom link or has a
         *                                       bad setting
         */
        public static List<LinkSetting> parseList(String list) {
            String[] tokens = list.split(",");
            List<LinkSetting> out = new ArrayList<>();
            for (int i = 0; i < tokens.length; i++) {
                String tok = tokens[i].trim();
                if (tok.isEmpty()) {
                    continue;
                }
                if (Character.isDigit(tok.charAt(0)) || tok.charAt(0) == '.') {
                    if (i + 2 >= tokens.length) {
                        throw new InvalidConfigurationException("link list '" + list + "' ends inside custom link '" + tok + "'",
                                "a custom link is GBPS,LATENCY_US,per-gpu|per-machine");
                    }
                    tok = tok + "," + tokens[i + 1].trim() + "," + tokens[i + 2].trim();
                    i += 2;
                }
                out.add(new LinkSetting(tok));
            }
            if (out.isEmpty()) {
                throw new InvalidConfigurationException("link list '" + list + "'", "at least one link setting");
            }
            return out;
        }
    }

    /**
     * What to sweep.
     *
     * @param topology the logical topology, machines x GPUs each
     * @param links    the link settings, in the order they run
     * @param seqLens  global sequence lengths S, in tokens
     * @param headDims head widths D
     * @param batches  batch sizes B
     * @param heads    heads H
     * @param methods  the methods whose valid meshes run
     */
    public record Config(Topology topology, List<LinkSetting> links, List<Integer> seqLens, List<Integer> headDims,
            List<Integer> batches, int heads, List<Method> methods) {
        /**
         * Copies the lists.
         *
         * @throws InvalidConfigurationException if a list is empty
         */
        public Config {
            for (List<?> l : List.of(links, seqLens, headDims, batches, methods)) {
                if (l.isEmpty()) {
                    throw new InvalidConfigurationException("sweep " + links + " S=" + seqLens + " D=" + headDims + " B="
                            + batches + " methods=" + methods, "every list of a sweep has at least one value");
                }
            }
            links = List.copyOf(links);
            seqLens = List.copyOf(seqLens);
            headDims = List.copyOf(headDims);
            batches = List.copyOf(batches);
            methods = List.copyOf(methods);
        }

        /**
         * The paper's Figure 9 in spirit: S of 4096, 8192 and 16384 tokens per GPU, D 64 and 128, B 1, 2, 4.
         *
         * @param topology the logical topology, whose world size multiplies the tokens per GPU
         * @return the three global sequence lengths
         * @throws InvalidConfigurationException if {@code 16384 * N} does not fit an int
         */
        public static List<Integer> defaultSeqLens(Topology topology) {
            int n = topology.worldSize();
            if (16384L * n > Integer.MAX_VALUE) {
                throw new InvalidConfigurationException("default sequence lengths 16384*N with N=" + n + " on " + topology,
                        "16384 * N <= 2^31-1 (N <= 131071), or give --seq");
            }
            return List.of(4096 * n, 8192 * n, 16384 * n);
        }
    }

    /**
     * One layer to measure: its global position, link setting (with its compression), mesh and predicted
     * milliseconds.
     *
     * @param index       the row's position in the sweep, from 1
     * @param total       the number of rows in the sweep
     * @param link        the link setting
     * @param method      the method
     * @param t           torus degree
     * @param u           Ulysses degree
     * @param r           ring degree
     * @param batch       B
     * @param seqLen      S, the global sequence length in tokens
     * @param heads       H
     * @param headDim     D
     * @param predictedMs the layer simulated on the H200 profile with the row's link, ms
     */
    public record Row(int index, int total, LinkSetting link, Method method, int t, int u, int r, int batch, int seqLen,
            int heads, int headDim, double predictedMs) {
        /** {@return the method and the degrees it has, e.g. {@code USP(u=2 r=1)}} */
        public String mesh() {
            String degrees = switch (method) {
                case ULYSSES -> "u=" + u;
                case RING -> "r=" + r;
                case USP, TAS -> "u=" + u + " r=" + r;
                case TORUS_TWO_SIDED, STREAMFUSION -> "t=" + t + " u'=" + u + " r=" + r;
            };
            return method + "(" + degrees + ")";
        }

        /** {@return the layer's shape, in bf16} */
        public AttentionShape shape() {
            return AttentionShape.of(batch, seqLen, heads, headDim, DType.BF16);
        }

        /**
         * {@return the progress line's head}, e.g.
         * {@code [sweep 12/96] USP(u=2 r=1) S=32768 D=128 B=1 link=p4de-400G/gpu-of-8}.
         */
        public String describe() {
            return String.format(Locale.ROOT, "[sweep %d/%d] %s S=%d D=%d B=%d link=%s", index, total, mesh(), seqLen,
                    headDim, batch, link.label());
        }
    }

    private SweepPlan() {
    }

    /**
     * Every row, grouped by link setting in the order given, numbered from 1.
     *
     * @param c what to sweep
     * @return one row per valid mesh, link setting and shape; none for a mesh that cannot compress
     * @throws InvalidConfigurationException if ranking every mesh of every setting and shape passes
     *                                       {@link WorkLimits#SIMULATOR_STEPS}
     */
    public static List<Row> rows(Config c) {
        record Pending(LinkSetting link, Plan plan, double predictedMs) {
        }
        // The whole sweep's estimate first: each method's ranking alone may pass where all of them together do not.
        double work = 0;
        for (Method m : c.methods()) {
            work += WorkLimits.rankSteps(c.topology(), Planner.degrees(AttentionShape.of(1,
                    c.seqLens().get(0), c.heads(), c.headDims().get(0)), c.topology(), m));
        }
        WorkLimits.check(WorkLimits.SIMULATOR_STEPS, "the sweep's predictions on " + c.topology(),
                work * c.links().size() * c.seqLens().size() * c.headDims().size() * c.batches().size(), "rank-steps");
        List<Pending> pending = new ArrayList<>();
        for (LinkSetting link : c.links()) {
            Simulator simulator = link.simulator(HardwareProfile.h200(), c.topology());
            for (int s : c.seqLens()) {
                for (int d : c.headDims()) {
                    for (int b : c.batches()) {
                        AttentionShape shape = AttentionShape.of(b, s, c.heads(), d, DType.BF16);
                        for (Method m : c.methods()) {
                            for (int[] degrees : Planner.degrees(shape, c.topology(), m)) {
                                Plan plan;
                                try {
                                    plan = Plan.of(shape, DeviceMesh.of(c.topology(), m, degrees[0], degrees[1],
                                            degrees[2])).withInterMachine(link.compression());
                                } catch (InvalidConfigurationException refused) {
                                    continue; // an invalid mesh, or a STREAMFUSION mesh whose groups span machines
                                }
                                pending.add(new Pending(link, plan, simulator.simulate(plan).totalSeconds() * 1e3));
                            }
                        }
                    }
                }
            }
        }
        List<Row> rows = new ArrayList<>();
        for (Pending p : pending) {
            DeviceMesh mesh = p.plan().mesh();
            AttentionShape s = p.plan().shape();
            rows.add(new Row(rows.size() + 1, pending.size(), p.link(), p.plan().method(), mesh.torus(), mesh.ulysses(),
                    mesh.ring(), s.batch(), s.seqLen(), s.heads(), s.headDim(), p.predictedMs()));
        }
        return rows;
    }
}
