package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.streamfusion.InvalidConfigurationException;

class SimulatedPlanTest {
    /** {@code streamfusion simulate ARGS}'s text. */
    private static String explain(String... args) {
        picocli.CommandLine cl = Main.commandLine();
        cl.parseArgs(java.util.stream.Stream.concat(java.util.stream.Stream.of("simulate"), java.util.Arrays.stream(args))
                .toArray(String[]::new));
        SimulatedPlan simulate = cl.getSubcommands().get("simulate").getCommand();
        return simulate.explain();
    }

    @Test
    void printsEveryCandidateInPartsAndThePick() {
        String out = explain("--topology", "2x4", "--profile", "a100", "--link", "p4de-400G",
            "-B", "1", "-S", "8192", "-H", "24", "-D", "128");
        assertTrue(out.contains("p4de-400G"), out);
        assertTrue(out.contains("STREAMFUSION") && out.contains("USP") && out.contains("compute"), out);
        assertEquals(1, out.lines().filter(l -> l.startsWith("chosen: ")).count(), out);
        assertTrue(out.contains("ranked by simulated layer time on a100 v") && !out.contains("default profile"), out);
    }

    @Test
    void oneNamedMeshIsSimulatedAloneWithItsPartsAndItsOwnCost() {
        String out = explain("--topology", "2x4", "--profile", "h200", "--mesh",
            "streamfusion:2/4/1", "-B", "1", "-S", "8192", "-H", "24", "-D", "128");
        assertTrue(out.startsWith("STREAMFUSION(t=2, u'=4, r=1) on 2x4"), out);
        assertTrue(out.contains("compute") && out.contains("simulated in "), out);
        String all = explain("--topology", "2x4", "--profile", "h200", "-B", "1", "-S", "8192", "-H", "24",
            "-D", "128");
        String total = out.lines().skip(1).findFirst().orElseThrow().split(" ")[0];
        assertTrue(all.lines().anyMatch(l -> l.startsWith("STREAMFUSION") && l.contains("t=2 u'=4 r=1")
                && l.contains(" " + total + " ")), "the same time as in the full ranking: " + total + "\n" + all);
        for (String bad : new String[] {"STREAMFUSION:2/4", "TORUS:2/4/1", "STREAMFUSION:3/4/1"}) {
            assertThrows(InvalidConfigurationException.class, () -> explain("--topology",
                "2x4", "--profile", "h200", "--mesh", bad, "-B", "1", "-S", "8192", "-H", "24", "-D", "128"), bad);
        }
    }

    @Test
    void refusesAnUnknownProfileNamingIt() {
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class, () -> explain(
                "--topology", "1x8", "--profile", "b200", "-B", "1", "-S", "8192", "-H", "24", "-D", "128"));
        assertTrue(e.getMessage().contains("b200") && e.getMessage().contains("h200, a100"), e.getMessage());
    }
}
