package org.streamfusion.planning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.streamfusion.AttentionShape;
import org.streamfusion.InterMachineLink;
import org.streamfusion.LinkClass;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.sim.HardwareProfile;
import org.streamfusion.sim.Simulator;

class PlannerTest {
    private final Planner planner = Planner.withDefaults();

    @Test
    void aPlannerWithoutAProfileIsRefusedWhenMadeNamingTheProfile() {
        assertEquals("profile", assertThrows(NullPointerException.class, () -> Planner.of(null)).getMessage());
    }

    @Test
    void thePickIsTheMeshWithTheShortestSimulatedLayerOfAllCandidates() {
        Topology topology = Topology.of(4, 8);
        AttentionShape shape = AttentionShape.of(1, 65536, 24, 128);
        Planner a100 = Planner.of(HardwareProfile.a100());
        Plan best = a100.best(shape, topology);
        Simulator sim = Simulator.of(HardwareProfile.a100(), topology);
        double bestSeconds = sim.simulate(best).totalSeconds();
        for (Planner.Candidate c : a100.enumerate(shape, topology)) {
            if (c.valid()) {
                assertEquals(sim.simulate(c.plan()).totalSeconds(), c.seconds(), 0, c.plan().toString());
                assertTrue(c.seconds() >= bestSeconds, c.plan() + " simulates faster than the pick " + best);
            }
        }
        String table = a100.explain(shape, topology);
        assertTrue(table.contains("compute") && table.contains("exposed") && table.contains("sync")
                && table.contains("chosen: " + best.mesh()), table);
    }

    @Test
    void eachMethodsBestIsItsFastestSimulatedMesh() {
        AttentionShape shape = AttentionShape.of(1, 36864, 24, 128);
        Topology topology = Topology.of(2, 4);
        for (Method m : Method.values()) {
            List<Planner.Candidate> c = planner.enumerate(shape, topology, m);
            double fastest = c.stream().filter(Planner.Candidate::valid).mapToDouble(Planner.Candidate::seconds).min()
                    .orElseThrow();
            assertEquals(fastest, Simulator.of(planner.profile(), topology).simulate(planner.best(shape, topology, m))
                    .totalSeconds(), 0, m.name());
        }
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
    void validCandidatesComeFirstFastestFirst() {
        List<Planner.Candidate> c = planner.enumerate(AttentionShape.of(1, 36864, 24, 128), Topology.of(4, 8), Method.USP);
        double last = 0;
        boolean invalidSeen = false;
        for (Planner.Candidate x : c) {
            if (!x.valid()) {
                invalidSeen = true;
                continue;
            }
            assertTrue(!invalidSeen, "valid after invalid");
            assertTrue(x.seconds() >= last, x.toString());
            last = x.seconds();
        }
    }

    @Test
    void theBytesBesideEachTimeAreTheClosedFormsLargestPerRankVolume() {
        for (Planner.Candidate c : planner.enumerate(AttentionShape.of(1, 8192, 24, 128), Topology.of(2, 4))) {
            if (c.valid()) {
                CommunicationVolume v = CommunicationVolume.of(c.plan());
                assertEquals(v.maxPerRank(LinkClass.INTRA_MACHINE) * 2, c.intraBytes(), c.toString());
                assertEquals(v.maxPerRank(LinkClass.INTER_MACHINE) * 2, c.interBytes(), c.toString());
            }
        }
    }

    @Test
    void explanationListsEveryCandidateTheChoiceAndSaysTheProfileIsTheDefault() {
        String text = planner.explain(AttentionShape.of(1, 4096, 24, 128), Topology.of(2, 2));
        assertTrue(text.contains("chosen: ") && text.contains("intra MB/GPU") && text.contains("inter MB/GPU"), text);
        assertTrue(text.contains("ranked by simulated layer time on h200 v") && text.contains("(the default profile"), text);
        for (Method m : Method.values()) {
            assertTrue(text.contains(m.name()), text);
        }
        assertTrue(text.contains("invalid: "), text);
    }

    @Test
    void aNamedProfileAndLinkAreNamedAndNotCalledTheDefault() {
        String text = Planner.of(HardwareProfile.h200()).withLink(InterMachineLink.parse("p4de-400G/gpu-of-8"))
                .explain(AttentionShape.of(1, 4096, 24, 128), Topology.of(2, 1));
        assertTrue(text.contains("on h200 v") && text.contains("p4de-400G/gpu-of-8") && !text.contains("default"), text);
    }

    /** The ring transfers' fixed costs bound every simulated layer from below, so skipping by them keeps the pick. */
    @Test
    void theLowerBoundNeverPassesTheSimulatedTimeAndSkippingByItKeepsEveryPick() {
        for (HardwareProfile profile : List.of(HardwareProfile.h200(), HardwareProfile.a100())) {
            Planner p = Planner.of(profile);
            for (Topology topology : List.of(Topology.of(2, 1), Topology.of(2, 2), Topology.of(1, 8), Topology.of(4, 2),
                    Topology.of(2, 8), Topology.of(4, 8))) {
                for (int seqLen : new int[] {4608, 65536}) {
                    AttentionShape shape = AttentionShape.of(1, seqLen, 24, 128);
                    List<Planner.Candidate> all = p.enumerate(shape, topology);
                    for (Planner.Candidate c : all) {
                        assertTrue(!c.valid() || c.lowerBoundSeconds() <= c.seconds(), profile.name() + " " + c);
                    }
                    assertEquals(all.get(0).plan(), p.best(shape, topology), profile.name() + " " + topology + " S=" + seqLen);
                    for (Method m : Method.values()) {
                        Plan fastest = all.stream().filter(c -> c.valid() && c.method() == m).findFirst()
                                .map(Planner.Candidate::plan).orElse(null);
                        if (fastest != null) {
                            assertEquals(fastest, p.best(shape, topology, m), m + " on " + topology + " S=" + seqLen);
                        }
                    }
                }
            }
        }
        String skipped = planner.explain(AttentionShape.of(1, 65536, 24, 128), Topology.of(8, 8));
        assertTrue(skipped.lines().anyMatch(l -> l.startsWith("RING ") && l.contains("not simulated: its ring transfers"
                + " alone take at least 4.")), skipped);
    }
}
