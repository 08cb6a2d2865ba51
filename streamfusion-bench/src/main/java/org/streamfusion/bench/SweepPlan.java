package org.streamfusion.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.streamfusion.AttentionShape;
import org.streamfusion.CostModel;
import org.streamfusion.DType;
import org.streamfusion.InterMachineLink;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.LinkCompression;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Planner;
import org.streamfusion.Topology;

/**
 * What a layerwise sweep runs: every valid mesh of every chosen method of the logical topology, for
 * every link setting and every (S, D, B), each with the H200 cost model's prediction. Rows are grouped
 * by link setting, because the emulated link is a JVM property of the ranks: one launch per setting.
 */
public final class SweepPlan {
    /**
     * {@code none} = no emulation (the logical machines talk over NVLink); else an {@link InterMachineLink#parse}
     * spec. A {@value #FP8} suffix runs the setting's layers with e4m3 on their inter-machine transfers
     * ({@link LinkCompression#FP8_E4M3}).
     */
    public record LinkSetting(String spec) {
        public static final String NONE = "none";
        public static final String FP8 = "+fp8";

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

        /** The emulated link's spec, without the compression suffix. */
        public String linkSpec() {
            return link(spec);
        }

        /** What the setting's inter-machine transfers carry. */
        public LinkCompression compression() {
            return linkSpec().equals(spec) ? LinkCompression.NONE : LinkCompression.FP8_E4M3;
        }

        public boolean emulated() {
            return !linkSpec().equalsIgnoreCase(NONE);
        }

        /** How outputs name it: the link's own name, or {@code none}; then {@value #FP8} when compressed. */
        public String label() {
            return (emulated() ? InterMachineLink.parse(linkSpec()).name() : NONE)
                    + (compression() == LinkCompression.NONE ? "" : FP8);
        }

        /**
         * The link the cost model sees: emulated bytes still move over NVLink, so a link faster per GPU
         * than NVLink is bounded by it; with no emulation the link is NVLink.
         */
        public InterMachineLink forModel(CostModel model, int gpusPerMachine) {
            if (!emulated()) {
                return model.sameHostLink();
            }
            InterMachineLink link = InterMachineLink.parse(linkSpec());
            if (link.perGpuBytesPerSecond(gpusPerMachine) >= model.intraBytesPerSecond()) {
                return new InterMachineLink(link.name() + " (bounded by NVLink)", model.intraBytesPerSecond(),
                        link.latencySeconds(), InterMachineLink.Nics.PER_GPU);
            }
            return link;
        }

        /**
         * A comma-separated list of settings, where a custom link ({@code GBPS,LATENCY_US,per-gpu}) keeps
         * its own commas: a token that is a number starts a custom link of three tokens.
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

    /** What to sweep. */
    public record Config(Topology topology, List<LinkSetting> links, List<Integer> seqLens, List<Integer> headDims,
            List<Integer> batches, int heads, List<Method> methods) {
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

        /** The paper's Figure 9 in spirit: S of 4096, 8192 and 16384 tokens per GPU, D 64 and 128, B 1, 2, 4. */
        public static List<Integer> defaultSeqLens(Topology topology) {
            int n = topology.worldSize();
            return List.of(4096 * n, 8192 * n, 16384 * n);
        }
    }

    /**
     * One layer to measure: its global position, link setting (with its compression), mesh and predicted
     * milliseconds.
     */
    public record Row(int index, int total, LinkSetting link, Method method, int t, int u, int r, int batch, int seqLen,
            int heads, int headDim, double predictedMs) {
        /** {@code USP(u=2 r=1)}: the method and the degrees it has. */
        public String mesh() {
            String degrees = switch (method) {
                case ULYSSES -> "u=" + u;
                case RING -> "r=" + r;
                case USP, TAS -> "u=" + u + " r=" + r;
                case TORUS_TWO_SIDED, STREAMFUSION -> "t=" + t + " u'=" + u + " r=" + r;
            };
            return method + "(" + degrees + ")";
        }

        public AttentionShape shape() {
            return AttentionShape.of(batch, seqLen, heads, headDim, DType.BF16);
        }

        /** The progress line's head, e.g. {@code [sweep 12/96] USP(u=2 r=1) S=32768 D=128 B=1 link=p4de-400G/gpu-of-8}. */
        public String describe() {
            return String.format(Locale.ROOT, "[sweep %d/%d] %s S=%d D=%d B=%d link=%s", index, total, mesh(), seqLen,
                    headDim, batch, link.label());
        }
    }

    private SweepPlan() {
    }

    /** Every row, grouped by link setting in the order given, numbered from 1. */
    public static List<Row> rows(Config c) {
        record Pending(LinkSetting link, Planner.Candidate candidate, double predictedMs) {
        }
        List<Pending> pending = new ArrayList<>();
        for (LinkSetting link : c.links()) {
            Planner planner = Planner.h200(link.forModel(CostModel.h200(InterMachineLink.unlimited()),
                    c.topology().gpusPerMachine()));
            for (int s : c.seqLens()) {
                for (int d : c.headDims()) {
                    for (int b : c.batches()) {
                        AttentionShape shape = AttentionShape.of(b, s, c.heads(), d, DType.BF16);
                        for (Method m : c.methods()) {
                            for (Planner.Candidate cand : planner.enumerate(shape, c.topology(), m)) {
                                if (!cand.valid()) {
                                    continue;
                                }
                                Plan plan = cand.plan();
                                if (link.compression() != LinkCompression.NONE) {
                                    try {
                                        plan = plan.withInterMachine(link.compression());
                                    } catch (InvalidConfigurationException refused) {
                                        continue; // a STREAMFUSION mesh whose groups span machines
                                    }
                                }
                                pending.add(new Pending(link, cand, planner.model().estimate(plan).seconds() * 1e3));
                            }
                        }
                    }
                }
            }
        }
        List<Row> rows = new ArrayList<>();
        for (Pending p : pending) {
            Planner.Candidate k = p.candidate();
            AttentionShape s = k.plan().shape();
            rows.add(new Row(rows.size() + 1, pending.size(), p.link(), k.method(), k.t(), k.u(), k.r(), s.batch(), s.seqLen(),
                    s.heads(), s.headDim(), p.predictedMs()));
        }
        return rows;
    }
}
