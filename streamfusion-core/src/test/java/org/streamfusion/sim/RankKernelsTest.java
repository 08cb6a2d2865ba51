package org.streamfusion.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.streamfusion.AttentionShape;
import org.streamfusion.DeviceMesh;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.LinkCompression;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;

/**
 * A rank's kernels counted ({@link Simulator#rankKernels}) price to exactly what the simulator charges for the kernels
 * that rank enqueues, kernels alone (no factor for a kernel inside a layer): every kind of kernel is counted, and a
 * fit of the counts prices what the layer runs.
 */
class RankKernelsTest {
    private static HardwareProfile alone(HardwareProfile p) {
        return new HardwareProfile(p.name(), p.version(), p.streamingMultiprocessors(), p.tileFlopsPerSecondD64(),
                p.tileFlopsPerSecondD128(), p.launchSeconds(), p.waveSeconds(), p.memoryBytesPerSecond(),
                p.nvlinkBytesPerSecond(), p.copyEngineBytesPerSecond(), p.twoSidedOpSeconds(), p.oneSidedOpSeconds(),
                p.smContention(), 1, p.proxyMessageSeconds(), p.pcieBytesPerSecond(), p.link());
    }

    @Test
    void countedKernelsPriceToTheKernelTimeEveryRankEnqueuesOnEveryMeshOfATwoByTwoClusterAtTwoShapesWithAndWithoutFp8() {
        HardwareProfile profile = alone(HardwareProfile.h200());
        Topology topology = Topology.of(2, 2);
        List<String> checked = new ArrayList<>();
        for (AttentionShape shape : List.of(AttentionShape.of(1, 4608, 24, 128), AttentionShape.of(2, 1001, 8, 64))) {
            for (Method method : Method.values()) {
                for (int[] tur : new int[][] {{1, 1, 4}, {1, 2, 2}, {1, 4, 1}, {2, 1, 2}, {2, 2, 1}}) {
                    DeviceMesh mesh;
                    try {
                        mesh = DeviceMesh.of(topology, method, tur[0], tur[1], tur[2]);
                    } catch (InvalidConfigurationException invalid) {
                        continue; // not a mesh of this method
                    }
                    for (boolean fp8 : new boolean[] {false, true}) {
                        Plan plan = Plan.of(shape, mesh);
                        if (fp8) {
                            try {
                                plan = plan.withInterMachine(LinkCompression.FP8_E4M3);
                            } catch (InvalidConfigurationException noWire) {
                                continue; // no group of this mesh crosses machines
                            }
                        }
                        Simulator simulator = Simulator.onOneHost(profile, topology);
                        List<SimStream> streams = new ArrayList<>();
                        simulator.record(plan, false, streams, new SimStream[topology.worldSize()]);
                        for (int rank = 0; rank < topology.worldSize(); rank++) {
                            double enqueued = 0;
                            for (SimStream s : streams) {
                                for (int i = 0; s.rank == rank && i < s.size(); i++) {
                                    enqueued += s.kind(i) == Op.Kind.KERNEL ? s.kernelSeconds(i) : 0;
                                }
                            }
                            RankKernels counted = simulator.rankKernels(plan, rank);
                            String what = plan + " rank " + rank + ": " + counted;
                            assertEquals(enqueued, counted.seconds(profile), 1e-12 * enqueued, what);
                            assertTrue(counted.launches() > 0 && counted.waves() > 0, what);
                            checked.add(what);
                        }
                    }
                }
            }
        }
        assertTrue(checked.size() >= 100, checked.size() + " ranks checked");
    }

    @Test
    void aRankOutsideTheWorldOrAPlanOfAnotherTopologyIsRefusedNamingIt() {
        Simulator simulator = Simulator.of(HardwareProfile.h200(), Topology.of(1, 2));
        Plan plan = Plan.of(AttentionShape.of(1, 4608, 24, 128), DeviceMesh.of(Topology.of(1, 2), Method.RING, 1, 1, 2));
        InvalidConfigurationException outside = assertThrows(InvalidConfigurationException.class,
                () -> simulator.rankKernels(plan, 2));
        assertTrue(outside.getMessage().contains("rank 2"), outside.getMessage());
        Plan other = Plan.of(AttentionShape.of(1, 4608, 24, 128), DeviceMesh.of(Topology.of(1, 4), Method.RING, 1, 1, 4));
        InvalidConfigurationException elsewhere = assertThrows(InvalidConfigurationException.class,
                () -> simulator.rankKernels(other, 0));
        assertTrue(elsewhere.getMessage().contains("1x4"), elsewhere.getMessage());
    }
}
