package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.streamfusion.AttentionShape;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.planning.Planner;
import org.streamfusion.sim.HardwareProfile;

/**
 * One planner, one answer: for every shape and cluster of the docs' prediction tables (up to 64 GPUs; the larger
 * rows take tens of seconds each to rank) and the README's and the command line's defaults, {@code streamfusion
 * plan}, {@link Planner#best}, {@link Planner#explain} and the demo choose the same mesh, and where a docs table
 * names a pick it is that mesh.
 */
class OneAnswerTest {
    private static final Path PREDICTIONS = Path.of("..", "docs", "results", "simulator.md");

    /** A profile name ({@code null}: the default), a cluster, a layer, and the docs' pick ({@code null}: none). */
    record Case(String profile, Topology cluster, int seqLen, int headDim, String docsPick) {
        @Override
        public String toString() {
            return (profile == null ? "default profile" : profile) + " " + cluster + " S=" + seqLen + " D=" + headDim;
        }
    }

    static Stream<Case> cases() throws IOException {
        List<Case> cases = new ArrayList<>(List.of(new Case(null, Topology.of(2, 2), 8192, 128, null), // README's line
                new Case(null, Topology.of(2, 4), 4608, 128, null), new Case(null, Topology.of(4, 8), 4608, 128, null),
                new Case(null, Topology.of(2, 1), 32768, 128, null)));
        String profile = null;
        int headDim = 0;
        Pattern width = Pattern.compile("\\bD=(\\d+)");
        for (String line : Files.readAllLines(PREDICTIONS)) {
            Matcher d = width.matcher(line);
            if (line.startsWith("### ")) {
                profile = line.contains("`a100`") ? "a100" : line.contains("H200") ? "h200" : null;
                headDim = d.find() ? Integer.parseInt(d.group(1)) : 0;
            } else if (!line.startsWith("|") && d.find()) {
                headDim = Integer.parseInt(d.group(1)); // the text above a table names its layer
            } else if (profile != null && headDim > 0 && line.matches("\\| \\d+x\\d+ \\| S=\\d+ \\|.*")) {
                String[] cells = line.split("\\|");
                Topology cluster = Topology.parse(cells[1].trim());
                if (cluster.worldSize() <= 64) {
                    String pick = cells[cells.length - 1].trim();
                    cases.add(new Case(profile, cluster, Integer.parseInt(cells[2].trim().substring(2)), headDim,
                            pick.substring(0, pick.indexOf(':'))));
                }
            }
        }
        assertTrue(cases.stream().filter(c -> c.docsPick() != null).count() >= 10, "the docs' rows read: " + cases);
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void planBestAndExplainChooseOneMeshAndItIsTheDocsPick(Case c) {
        AttentionShape shape = AttentionShape.of(1, c.seqLen(), 24, c.headDim());
        Planner planner = c.profile() == null ? Planner.withDefaults() : Planner.of(HardwareProfile.named(c.profile()));
        Plan best = planner.best(shape, c.cluster());
        String chosen = "chosen: " + best.mesh() + ", ";
        String explained = planner.explain(shape, c.cluster());
        assertEquals(1, explained.lines().filter(l -> l.startsWith(chosen)).count(), c + "\n" + explained);
        List<String> args = new ArrayList<>(List.of("plan", "--topology", c.cluster().toString(), "-S",
                Integer.toString(c.seqLen()), "-H", "24", "-D", Integer.toString(c.headDim())));
        if (c.profile() != null) {
            args.addAll(List.of("--profile", c.profile()));
        }
        picocli.CommandLine cl = Main.commandLine();
        cl.parseArgs(args.toArray(String[]::new));
        PlanCommand plan = cl.getSubcommands().get("plan").getCommand();
        String printed = plan.explain();
        assertTrue(printed.lines().anyMatch(l -> l.startsWith(chosen)), c + "\n" + printed);
        assertTrue(printed.contains(c.profile() == null ? "(the default profile" : "on " + c.profile() + " v"), printed);
        if (c.docsPick() != null) {
            String mesh = best.mesh().toString();
            assertEquals(c.docsPick(), mesh.substring(0, mesh.lastIndexOf(" on ")), c + ": the docs' table and the planner");
        }
    }

    @Test
    void theDemoPrintsThePlannersChoice() {
        int seqLen = 256;
        Plan best = Planner.withDefaults().best(AttentionShape.of(1, seqLen, 24, 128), Topology.of(2, 2));
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        PrintStream out = System.out;
        int code;
        try (PrintStream capture = new PrintStream(buffer, true, StandardCharsets.UTF_8)) {
            System.setOut(capture);
            code = DemoCommand.demo(seqLen);
        } finally {
            System.setOut(out);
        }
        String text = buffer.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        assertTrue(text.contains("chosen: " + best.mesh() + ", ") && text.contains("(the default profile"), text);
    }
}
