package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.streamfusion.InvalidConfigurationException;

class SimulatedPlanTest {
    @Test
    void printsEveryCandidateInPartsAndThePick() {
        String out = SimulatedPlan.explain(new String[] {"--cluster", "2x4", "--profile", "a100", "--link", "p4de-400G",
            "1", "8192", "24", "128"});
        assertTrue(out.contains("p4de-400G"), out);
        assertTrue(out.contains("STREAMFUSION") && out.contains("USP") && out.contains("compute"), out);
        assertTrue(out.contains("pick: "), out);
        assertEquals(1, out.lines().filter(l -> l.startsWith("pick: ")).count(), out);
    }

    @Test
    void oneNamedMeshIsSimulatedAloneWithItsPartsAndItsOwnCost() {
        String out = SimulatedPlan.explain(new String[] {"--cluster", "2x4", "--profile", "h200", "--mesh",
            "streamfusion:2/4/1", "1", "8192", "24", "128"});
        assertTrue(out.startsWith("STREAMFUSION(t=2, u'=4, r=1) on 2x4"), out);
        assertTrue(out.contains("compute") && out.contains("simulated in "), out);
        String all = SimulatedPlan.explain(new String[] {"--cluster", "2x4", "--profile", "h200", "1", "8192", "24",
            "128"});
        String total = out.lines().skip(1).findFirst().orElseThrow().split(" ")[0];
        assertTrue(all.lines().anyMatch(l -> l.startsWith("STREAMFUSION") && l.contains("t=2 u'=4 r=1")
                && l.contains(" " + total + " ")), "the same time as in the full ranking: " + total + "\n" + all);
        for (String bad : new String[] {"STREAMFUSION:2/4", "TORUS:2/4/1", "STREAMFUSION:3/4/1"}) {
            assertThrows(InvalidConfigurationException.class, () -> SimulatedPlan.explain(new String[] {"--cluster",
                "2x4", "--profile", "h200", "--mesh", bad, "1", "8192", "24", "128"}), bad);
        }
    }

    @Test
    void refusesAnUnknownProfileNamingIt() {
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class, () -> SimulatedPlan.explain(
                new String[] {"--cluster", "1x8", "--profile", "b200", "1", "8192", "24", "128"}));
        assertTrue(e.getMessage().contains("b200") && e.getMessage().contains("h200 or a100"), e.getMessage());
    }
}
