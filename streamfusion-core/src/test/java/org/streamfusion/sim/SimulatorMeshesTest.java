package org.streamfusion.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.streamfusion.AttentionShape;
import org.streamfusion.DeviceMesh;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.planning.Planner;
import org.streamfusion.Topology;

/** Every method on every valid mesh runs under the simulator; a Flux layer on 512 GPUs simulates quickly. */
class SimulatorMeshesTest {
    static final int[][] TOPOLOGIES = {{1, 1}, {1, 2}, {2, 1}, {2, 2}, {2, 4}, {4, 2}, {8, 1}, {4, 4}};
    /** H=48 so that every head split up to 16 is valid; S a multiple of every N. */
    static final AttentionShape SHAPE = AttentionShape.of(1, 4096, 48, 128);

    static Stream<Arguments> meshes() {
        List<Arguments> cases = new ArrayList<>();
        for (int[] mg : TOPOLOGIES) {
            Topology topology = Topology.of(mg[0], mg[1]);
            for (Planner.Candidate c : Planner.withDefaults().enumerate(SHAPE, topology)) {
                if (c.valid()) {
                    cases.add(Arguments.of(topology, c.method(), c.t(), c.u(), c.r()));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1} t={2} u''={3} r={4}")
    @MethodSource("meshes")
    void runsAndItsPartsAddUp(Topology topology, Method method, int t, int u, int r) {
        for (HardwareProfile p : new HardwareProfile[] {HardwareProfile.h200(), HardwareProfile.a100()}) {
            SimulatedTime time = Simulator.of(p, topology).simulate(Plan.of(SHAPE, DeviceMesh.of(topology, method, t, u, r)));
            assertTrue(time.totalSeconds() > 0 && time.computeSeconds() > 0, time.toString());
            assertEquals(time.totalSeconds(), time.computeSeconds() + time.exposedCommunicationSeconds()
                    + time.synchronisationSeconds(), 1e-12 + 1e-9 * time.totalSeconds(), time.toString());
        }
    }

    /**
     * The goal is 2 s on a 2-core machine. The JVM's CPU time (the simulation, the collector, the JIT) is
     * asserted, with a margin for CI noise, because the wall time of a shared machine measures its other
     * tenants too; both are printed. Every mesh is simulated twice and the faster counts: the first
     * simulation of the heaviest mesh also grows the heap, which a planner ranking meshes pays once.
     */
    @Test
    void aFluxLayerOn512GpusSimulatesInUnderTwoSeconds() {
        Topology cluster = Topology.of(64, 8);
        AttentionShape flux = AttentionShape.of(1, 65536, 24, 128);
        Simulator sim = Simulator.of(HardwareProfile.h200(), cluster);
        List<DeviceMesh> meshes = List.of(DeviceMesh.of(cluster, Method.USP, 1, 8, 64),
                DeviceMesh.of(cluster, Method.STREAMFUSION, 1, 8, 64),
                DeviceMesh.of(cluster, Method.TORUS_TWO_SIDED, 2, 4, 64),
                DeviceMesh.of(cluster, Method.STREAMFUSION, 2, 4, 64),
                DeviceMesh.of(cluster, Method.STREAMFUSION, 8, 1, 64)); // the heaviest: 3.5 million stream ops
        sim.simulate(Plan.of(flux, meshes.get(0))); // warm-up: class loading and the JIT
        double worst = 0;
        for (DeviceMesh mesh : meshes) {
            double best = Double.MAX_VALUE;
            for (int round = 1; round <= 2; round++) {
                long cpu = processCpuNanos();
                long start = System.nanoTime();
                SimulatedTime t = sim.simulate(Plan.of(flux, mesh));
                double wall = (System.nanoTime() - start) / 1e9;
                double seconds = (processCpuNanos() - cpu) / 1e9;
                best = Math.min(best, seconds);
                System.out.printf(Locale.ROOT, "512 GPUs, %s, round %d: simulated %.3f ms; %.3f s CPU, %.3f s wall%n",
                        mesh, round, t.totalSeconds() * 1e3, seconds, wall);
            }
            worst = Math.max(worst, best);
        }
        assertTrue(worst < 4, "a 512-GPU layer took " + worst + " s of CPU to simulate (goal 2 s, CI margin 4 s)");
    }

    /**
     * The planner on the same layer: the meshes whose ring transfers alone outlast the fastest one are skipped, so
     * ranking every mesh of 512 GPUs costs a few simulations. Goal 3 s of wall time on 2 cores; the JVM's CPU
     * time is asserted with a CI margin, both printed (docs/results/planner.md).
     */
    @Test
    void thePlannerRanksEveryMeshOf512GpusSimulatingOnlyThoseThatCanWin() {
        Topology cluster = Topology.of(64, 8);
        AttentionShape flux = AttentionShape.of(1, 65536, 24, 128);
        long cpu = processCpuNanos();
        long start = System.nanoTime();
        String table = Planner.withDefaults().explain(flux, cluster);
        double wall = (System.nanoTime() - start) / 1e9;
        double seconds = (processCpuNanos() - cpu) / 1e9;
        long skipped = table.lines().filter(l -> l.contains("not simulated: ")).count();
        long simulated = table.lines().filter(l -> l.matches("[A-Z_]+ .*") && !l.contains("not simulated: ")
                && !l.contains("invalid: ")).count();
        System.out.printf(Locale.ROOT, "ranking every mesh of 64x8: %d simulated, %d skipped; %.3f s CPU, %.3f s wall%n",
                simulated, skipped, seconds, wall);
        assertTrue(skipped >= 20 && simulated >= 1, table);
        assertTrue(seconds < 10, "ranking 64x8 took " + seconds + " s of CPU (goal 3 s of wall time, CI margin 10 s)");
    }

    private static long processCpuNanos() {
        return ProcessHandle.current().info().totalCpuDuration().orElseThrow().toNanos();
    }
}
