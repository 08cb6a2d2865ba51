package org.streamfusion.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.streamfusion.AttentionShape;
import org.streamfusion.Plan;
import org.streamfusion.planning.Planner;
import org.streamfusion.Topology;

/**
 * Recording a layer's ranks on several threads is only faster: every method's meshes on 32x8 and 64x4 (256 ranks, so up
 * to 4 threads; ragged shards on the second) give the sequential recording's simulated time and parts to the last bit,
 * for 2, 3 and 4 recording threads, whether every rank is recorded or a symmetric layer's representatives are, the
 * other ranks checked against them on those threads; and a layer resolved once per orbit, checked on 4 threads, takes
 * the whole layer's time.
 */
class ParallelRecordingTest {
    static Stream<Arguments> plans() {
        List<Arguments> cases = new ArrayList<>();
        for (Object[] c : new Object[][] {{Topology.of(32, 8), 16384}, {Topology.of(64, 4), 16384 + 7}}) {
            Topology topology = (Topology) c[0];
            AttentionShape shape = AttentionShape.of(1, (int) c[1], 24, 128);
            for (org.streamfusion.Method method : org.streamfusion.Method.values()) {
                try {
                    cases.add(Arguments.of(Planner.withDefaults().best(shape, topology, method)));
                } catch (org.streamfusion.InvalidConfigurationException noMesh) {
                    // ULYSSES has none here (u = 256 does not divide H = 24)
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("plans")
    void parallelRecordingSimulatesExactlyWhatSequentialRecordingDoes(Plan plan) {
        Simulator perOrbit = Simulator.of(HardwareProfile.h200(), plan.mesh().topology()).withRecordingThreads(1);
        Simulator whole = perOrbit.withSymmetryFrom(Integer.MAX_VALUE);
        // Every rank recorded, and (where the layer is symmetric) the representatives recorded and the others checked.
        for (Simulator sequential : List.of(whole, perOrbit)) {
            SimulatedTime expected = sequential.simulate(plan);
            for (int threads = 2; threads <= 4; threads++) {
                SimulatedTime parallel = sequential.withRecordingThreads(threads).simulate(plan);
                assertEquals(expected, parallel, plan + " recorded on " + threads + " threads");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("plans")
    void aLayerResolvedOncePerOrbitAndCheckedOnFourThreadsTakesTheWholeLayersTime(Plan plan) {
        Simulator perOrbit = Simulator.of(HardwareProfile.h200(), plan.mesh().topology()).withRecordingThreads(4);
        Simulator whole = perOrbit.withSymmetryFrom(Integer.MAX_VALUE);
        assertEquals(whole.simulate(plan).totalSeconds(), perOrbit.simulate(plan).totalSeconds(), 0, plan.toString());
    }
}
