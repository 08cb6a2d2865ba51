package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.streamfusion.planning.Planner;

/** Rank coordinates and groups of docs/algorithms.md, section 3. */
class DeviceMeshTest {
    @Test
    void streamFusionRanksAreLTimesGPlusATimesRPlusB() {
        Topology topo = Topology.of(4, 8);
        DeviceMesh m = DeviceMesh.of(topo, Method.STREAMFUSION, 4, 2, 4);
        for (int g = 0; g < 32; g++) {
            int l = m.torusIndex(g);
            int a = m.ulyssesIndex(g);
            int b = m.ringIndex(g);
            assertEquals(g, l * 8 + a * 4 + b);
            assertEquals(l, topo.machineOf(g), "torus index is the machine when t = M");
            assertEquals(l, m.ulyssesGroup(g).member(0) / 8, "intra-Ulysses group stays in the machine");
            for (int p : m.ringGroup(g).ranks()) {
                assertEquals(topo.machineOf(g), topo.machineOf(p), "ring stays in the machine");
                assertEquals(a, m.ulyssesIndex(p));
            }
            for (int p : m.torusGroup(g).ranks()) {
                assertEquals(a, m.ulyssesIndex(p));
                assertEquals(b, m.ringIndex(p));
            }
        }
        assertArrayEquals(new int[] {1, 9, 17, 25}, m.torusGroup(9).ranks());
        assertArrayEquals(new int[] {9, 13}, m.ulyssesGroup(9).ranks());
        assertArrayEquals(new int[] {8, 9, 10, 11}, m.ringGroup(9).ranks());
    }

    @Test
    void uspKeepsUlyssesConsecutiveAndRingStridedWhileTasDoesTheOpposite() {
        Topology topo = Topology.of(2, 4);
        DeviceMesh usp = DeviceMesh.of(topo, Method.USP, 1, 4, 2);
        assertArrayEquals(new int[] {4, 5, 6, 7}, usp.ulyssesGroup(5).ranks());
        assertArrayEquals(new int[] {1, 5}, usp.ringGroup(5).ranks());
        DeviceMesh tas = DeviceMesh.of(topo, Method.TAS, 1, 2, 4);
        assertArrayEquals(new int[] {4, 5, 6, 7}, tas.ringGroup(5).ranks());
        assertArrayEquals(new int[] {1, 5}, tas.ulyssesGroup(5).ranks());
    }

    @Test
    void everyRankIsInExactlyOneGroupOfEachAxis() {
        for (Method method : Method.values()) {
            for (Planner.Candidate c : Planner.withDefaults().enumerate(AttentionShape.of(1, 48, 24, 16), Topology.of(2, 6), method)) {
                if (!c.valid()) {
                    continue;
                }
                DeviceMesh m = c.plan().mesh();
                Set<Integer> seen = new HashSet<>();
                for (int g = 0; g < 12; g++) {
                    assertTrue(seen.add(m.rankOf(m.torusIndex(g), m.ulyssesIndex(g), m.ringIndex(g)) * 100 + g % 100));
                    assertEquals(g, m.rankOf(m.torusIndex(g), m.ulyssesIndex(g), m.ringIndex(g)));
                    assertEquals(m.torus() * m.ulyssesGroup(g).size() * m.ringGroup(g).size(), 12);
                }
            }
        }
    }
}
