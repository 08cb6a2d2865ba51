package org.streamfusion.sim;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.LinkCompression;
import org.streamfusion.Plan;
import org.streamfusion.planning.Planner;
import org.streamfusion.Topology;

/**
 * What makes a layer capturable as one CUDA graph, on the streams and events alone (docs/graphs.md): every wait
 * a layer enqueues is on a record that the same layer made. A wait on a record of the layer before would, in a
 * capture, be a dependency on work outside the graph, which CUDA refuses (a ring's slot events once did exactly
 * that). Two consecutive layers of every method on every valid mesh, exact and e4m3 between machines, with and
 * without a joint text segment, enqueued on the simulating backend; the second layer's waits are checked.
 */
class LayerWaitsTest {
    static Stream<Arguments> plans() {
        List<Arguments> out = new ArrayList<>();
        for (Topology topology : List.of(Topology.of(1, 2), Topology.of(2, 1), Topology.of(1, 4), Topology.of(2, 2),
                Topology.of(2, 4))) {
            int n = topology.worldSize();
            AttentionShape shape = AttentionShape.of(1, 64 * n + 1, 8, 64, DType.BF16);
            for (Planner.Candidate c : Planner.withDefaults().enumerate(shape, topology)) {
                if (!c.valid()) {
                    continue;
                }
                out.add(Arguments.of(c.plan()));
                out.add(Arguments.of(c.plan().withJointText(16)));
                if (topology.machines() > 1) {
                    try {
                        out.add(Arguments.of(c.plan().withInterMachine(LinkCompression.FP8_E4M3)));
                    } catch (org.streamfusion.InvalidConfigurationException refused) {
                        // a mesh whose groups span machines carries no e4m3 (docs/algorithms.md, section 7)
                    }
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("plans")
    void everyWaitOfALayerIsOnARecordOfThatLayer(Plan plan) {
        Topology topology = plan.mesh().topology();
        Simulator sim = Simulator.of(HardwareProfile.h200(), topology);
        List<SimStream> streams = new ArrayList<>();
        // Each stream's op count when its rank finished the first layer: ops below it are that layer's.
        Map<SimStream, Integer> firstLayerEnd = new IdentityHashMap<>();
        List<String> violations = new ArrayList<>();
        int[] waitsChecked = {0};
        sim.enqueue(plan, true, 2, streams, (rank, layer) -> {
            for (SimStream s : streams) {
                if (s.rank != rank) {
                    continue;
                }
                if (layer == 0) {
                    firstLayerEnd.put(s, s.size());
                    continue;
                }
                for (int i = firstLayerEnd.getOrDefault(s, 0); i < s.size(); i++) {
                    if (s.kind(i) != Op.Kind.WAIT) {
                        continue;
                    }
                    waitsChecked[0]++;
                    SimStream target = s.waitTarget(i);
                    if (s.waitIndex(i) < firstLayerEnd.getOrDefault(target, 0)) {
                        violations.add("rank " + rank + " stream " + s.name() + " waits for '" + s.step(i)
                                + "' of the layer before (recorded on " + target.name() + ")");
                    }
                }
            }
        });
        assertTrue(waitsChecked[0] > 0, plan + ": the second layer enqueued no wait to check");
        assertTrue(violations.isEmpty(), plan + ": " + violations);
    }
}
