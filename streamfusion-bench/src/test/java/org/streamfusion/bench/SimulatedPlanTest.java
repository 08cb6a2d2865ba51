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
    void refusesAnUnknownProfileNamingIt() {
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class, () -> SimulatedPlan.explain(
                new String[] {"--cluster", "1x8", "--profile", "b200", "1", "8192", "24", "128"}));
        assertTrue(e.getMessage().contains("b200") && e.getMessage().contains("h200 or a100"), e.getMessage());
    }
}
