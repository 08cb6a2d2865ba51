package org.streamfusion.planning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.streamfusion.AttentionShape;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;

class PlannerTest {
    private final Planner planner = Planner.withDefaults();

    @Test
    void aPlannerWithoutACostModelIsRefusedWhenMadeNamingTheModel() {
        assertEquals("model", assertThrows(NullPointerException.class, () -> new Planner(null)).getMessage());
    }

    @Test
    void streamFusionOnFourMachinesOfEightPicksTheTorusAcrossMachines() {
        Plan p = planner.best(AttentionShape.of(1, 65536, 24, 128), Topology.of(4, 8), Method.STREAMFUSION);
        assertEquals(4, p.mesh().torus(), p.toString());
    }

    @Test
    void whereMachinesDoNotDivideHeadsTheTorusDegreeFallsBackToTheirGcd() {
        // M = 4, H = 6: t = 4 breaks H % (t*u') == 0; gcd(4, 6) = 2 remains.
        List<Planner.Candidate> c = planner.enumerate(AttentionShape.of(1, 1024, 6, 64), Topology.of(4, 2), Method.STREAMFUSION);
        assertTrue(c.stream().filter(Planner.Candidate::valid).allMatch(x -> x.t() <= 2), c.toString());
        assertTrue(c.stream().anyMatch(x -> x.valid() && x.t() == 2));
        assertTrue(c.stream().anyMatch(x -> !x.valid() && x.t() == 4 && x.invalidReason().contains("H % u == 0")));
    }

    @Test
    void validCandidatesComeFirstCheapestFirst() {
        List<Planner.Candidate> c = planner.enumerate(AttentionShape.of(1, 36864, 24, 128), Topology.of(4, 8), Method.USP);
        double last = 0;
        boolean invalidSeen = false;
        for (Planner.Candidate x : c) {
            if (!x.valid()) {
                invalidSeen = true;
                continue;
            }
            assertTrue(!invalidSeen, "valid after invalid");
            assertTrue(x.estimate().seconds() >= last);
            last = x.estimate().seconds();
        }
    }

    @Test
    void acrossFourMachinesTheOverlappedTorusBeatsUspInTheModel() {
        AttentionShape flux = AttentionShape.of(1, 36864, 24, 128);
        Topology topo = Topology.of(4, 8);
        double usp = planner.model().estimate(planner.best(flux, topo, Method.USP)).seconds();
        double sfu = planner.model().estimate(planner.best(flux, topo, Method.STREAMFUSION)).seconds();
        assertTrue(sfu < usp, "SFU " + sfu + " s vs USP " + usp + " s");
    }

    @Test
    void explanationListsEveryCandidateAndTheChoice() {
        String text = planner.explain(AttentionShape.of(1, 4096, 24, 128), Topology.of(2, 2));
        assertTrue(text.contains("chosen: "), text);
        for (Method m : Method.values()) {
            assertTrue(text.contains(m.name()), text);
        }
        assertTrue(text.contains("invalid: "), text);
    }
}
