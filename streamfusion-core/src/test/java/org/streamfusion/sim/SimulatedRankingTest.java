package org.streamfusion.sim;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.streamfusion.AttentionShape;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.planning.Planner;

class SimulatedRankingTest {
    @Test
    void theSimulatorPicksThePlanWithTheShortestSimulatedLayerAndExplainsTheParts() {
        Topology topology = Topology.of(4, 8);
        AttentionShape shape = AttentionShape.of(1, 65536, 24, 128);
        Simulator sim = Simulator.of(HardwareProfile.named("a100"), topology);
        Plan best = sim.best(shape);
        double bestSeconds = sim.simulate(best).totalSeconds();
        for (Planner.Candidate c : Planner.withDefaults().enumerate(shape, topology)) {
            if (c.valid()) {
                assertTrue(sim.simulate(c.plan()).totalSeconds() >= bestSeconds,
                        c.plan() + " simulates faster than the pick " + best);
            }
        }
        String table = sim.explain(shape);
        assertTrue(table.contains("compute") && table.contains("exposed") && table.contains("sync")
                && table.contains("pick: " + best.mesh()), table);
    }
}
