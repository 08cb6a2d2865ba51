package org.streamfusion.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.DeviceMesh;
import org.streamfusion.InterMachineLink;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.planning.Planner;

/**
 * A layer whose schedules are symmetric under its mesh's machine rotations, resolved for one rank per orbit, takes
 * the time of the whole layer resolved rank by rank, to the last bit, and its critical rank's split within 2% of the
 * layer (ties are served in another order); a layer that is not symmetric is recognised and resolved whole.
 */
class SymmetryTest {
    private static final String[] TOPOLOGIES = {"2x2", "4x2", "2x4", "8x2", "4x4", "4x8", "8x4", "16x2", "16x8"};

    /** Every mesh of every method on {@code topology} for {@code shape}. */
    static List<Plan> meshes(Topology topology, AttentionShape shape) {
        List<Plan> plans = new ArrayList<>();
        for (Method method : Method.values()) {
            for (int[] d : Planner.degrees(shape, topology, method)) {
                try {
                    plans.add(Plan.of(shape, DeviceMesh.of(topology, method, d[0], d[1], d[2])));
                } catch (org.streamfusion.InvalidConfigurationException notThisMesh) {
                    // the degrees break the method's rule or the shape's (heads, rows)
                }
            }
        }
        return plans;
    }

    static Stream<Arguments> clusters() {
        List<Arguments> cases = new ArrayList<>();
        for (String topology : TOPOLOGIES) {
            cases.add(Arguments.of(topology, "h200", HardwareProfile.h200(), false));
            cases.add(Arguments.of(topology, "h200 one host", HardwareProfile.h200(), true));
            cases.add(Arguments.of(topology, "a100 (4 NICs per 8 GPUs)", HardwareProfile.a100(), false));
            cases.add(Arguments.of(topology, "h200 over a 2 GB/s proxy link",
                    HardwareProfile.h200().withLink(InterMachineLink.parse("2,20,per-gpu,proxy")), false));
        }
        return cases.stream();
    }

    private static Simulator simulator(HardwareProfile profile, Topology topology, boolean oneHost) {
        return oneHost ? Simulator.onOneHost(profile, topology) : Simulator.of(profile, topology);
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("clusters")
    void everySymmetricMeshResolvedOncePerOrbitTakesTheWholeLayersTimeToTheLastBit(String topology, String profileName,
            HardwareProfile profile, boolean oneHost) {
        Topology topo = Topology.parse(topology);
        AttentionShape shape = AttentionShape.of(1, 65536, 24, 128, DType.BF16);
        Set<Method> symmetric = new TreeSet<>();
        for (Plan plan : meshes(topo, shape)) {
            Simulator perOrbit = simulator(profile, topo, oneHost).withSymmetryFrom(1);
            Symmetry used = perOrbit.record(plan, false, new ArrayList<>(), new SimStream[topo.worldSize()]);
            if (used.orbitSize() > 1) {
                symmetric.add(plan.mesh().method());
            }
            SimulatedTime whole = simulator(profile, topo, oneHost).withSymmetryFrom(Integer.MAX_VALUE).simulate(plan);
            SimulatedTime once = perOrbit.simulate(plan);
            String what = plan + " on " + profileName + " under " + used;
            assertEquals(whole.totalSeconds(), once.totalSeconds(), 0, what);
            if (!whole.equals(once)) {
                // The whole layer serves tied transfers in rank order, which no rotation keeps, so its machines can
                // end apart (by microseconds) where the orbit's ends together: the critical rank, and how its time
                // splits, may differ.
                double bound = 0.02 * whole.totalSeconds();
                assertEquals(whole.computeSeconds(), once.computeSeconds(), bound, what);
                assertEquals(whole.exposedCommunicationSeconds(), once.exposedCommunicationSeconds(), bound, what);
                assertEquals(whole.synchronisationSeconds(), once.synchronisationSeconds(), bound, what);
            }
        }
        // The rings and USP rotate with the machines on every cluster, and from 4 machines on some meshes of the
        // torus methods (whose barriers and one-sided pulls take the other paths): the comparison is not vacuous.
        assertTrue(symmetric.containsAll(Set.of(Method.RING, Method.USP)), "symmetric methods " + symmetric);
        if (topo.machines() >= 4) {
            assertTrue(symmetric.containsAll(Set.of(Method.TORUS_TWO_SIDED, Method.STREAMFUSION)),
                    "symmetric methods " + symmetric);
        }
    }

    @Test
    void raggedShardsAndAllToAllsInAbsoluteOrderAreNotSymmetricAndResolveWhole() {
        Topology topo = Topology.of(4, 2);
        // Ragged: S = 16391 leaves ranks with different row counts. ULYSSES: every rank lists its peers from 0.
        Plan[] plans = {
            Plan.of(AttentionShape.of(1, 16384 + 7, 24, 64, DType.BF16), DeviceMesh.of(topo, Method.RING, 1, 1, 8)),
            Plan.of(AttentionShape.of(1, 65536, 24, 128, DType.BF16), DeviceMesh.of(topo, Method.ULYSSES, 1, 8, 1))
        };
        for (Plan plan : plans) {
            assertTrue(Symmetry.of(plan.mesh()).orbitSize() > 1, plan + " has rotations to try");
            Simulator perOrbit = Simulator.of(HardwareProfile.h200(), topo).withSymmetryFrom(1);
            List<SimStream> streams = new ArrayList<>();
            assertEquals(Symmetry.NONE, perOrbit.record(plan, false, streams, new SimStream[8]), plan.toString());
            assertEquals(8, streams.stream().mapToInt(s -> s.rank).distinct().count(), plan + ": every rank recorded");
            Simulator whole = Simulator.of(HardwareProfile.h200(), topo).withSymmetryFrom(Integer.MAX_VALUE);
            assertEquals(whole.simulate(plan), perOrbit.simulate(plan), plan.toString());
        }
    }

    /**
     * Rank {@code r} of a 4x1 ring by hand: on one stream a barrier then a 1 s kernel, on another a 1 s kernel then a
     * barrier; {@code pairs}: the barriers are {r, r+1} and {r-1, r} (a pair no rotation keeps, though every member's
     * representative, rank 0, is in it), else the whole world, listed from {@code r} when {@code fromSelf}.
     */
    private static List<SimStream> handMade(int r, boolean pairs, boolean fromSelf) {
        SimStream first = new SimStream(r, "compute", false);
        SimStream second = new SimStream(r, "other", false);
        int[] right = pairs ? new int[] {Math.min(r, (r + 1) % 4), Math.max(r, (r + 1) % 4)} : world(r, fromSelf);
        int[] left = pairs ? new int[] {Math.min(r, (r + 3) % 4), Math.max(r, (r + 3) % 4)} : world(r, fromSelf);
        first.add(Op.barrier(first, "b", right, Arrays.toString(right) + "#1"));
        first.add(Op.kernel(first, "k", 1.0, true));
        second.add(Op.kernel(second, "k", 1.0, true));
        second.add(Op.barrier(second, "b", left, Arrays.toString(left) + "#2"));
        return List.of(first, second);
    }

    private static int[] world(int r, boolean fromSelf) {
        return fromSelf ? new int[] {r, (r + 1) % 4, (r + 2) % 4, (r + 3) % 4} : new int[] {0, 1, 2, 3};
    }

    @Test
    void aBarrierThatNoRotationKeepsOrThatItsMembersNameApartIsNotSymmetric() {
        Symmetry ring = Symmetry.of(DeviceMesh.of(Topology.of(4, 1), Method.RING, 1, 1, 4));
        assertEquals(4, ring.orbitSize());
        record Case(String name, boolean pairs, boolean fromSelf, boolean symmetric) {
        }
        for (Case c : List.of(new Case("pairs {r, r+1}, {r-1, r}", true, false, false),
                new Case("the world listed from each member", false, true, false),
                new Case("the world in rank order", false, false, true))) {
            SymmetryCheck check = new SymmetryCheck(r -> handMade(r, c.pairs(), c.fromSelf()), new RankBlocks(1));
            assertEquals(c.symmetric(), check.holds(ring, handMade(0, c.pairs(), c.fromSelf())), c.name());
        }
        // Where the check holds, the orbit's representative resolves as the whole world.
        HardwareProfile p = HardwareProfile.h200();
        Topology topo = Topology.of(4, 1);
        List<SimStream> whole = new ArrayList<>();
        for (int r = 0; r < 4; r++) {
            whole.addAll(handMade(r, false, false));
        }
        new Engine(p, new Links(topo, p, false, Symmetry.NONE), Symmetry.NONE, 4, whole).run();
        List<SimStream> once = handMade(0, false, false);
        new Engine(p, new Links(topo, p, false, ring), ring, 4, once).run();
        assertEquals(whole.get(0).free, once.get(0).free, 0, "rank 0's compute stream");
        assertEquals(whole.get(1).free, once.get(1).free, 0, "rank 0's other stream");
    }

    @Test
    void aRankThatDiffersAfterTheFirstCheckStillMakesTheLayerNotSymmetric() {
        Symmetry ring = Symmetry.of(DeviceMesh.of(Topology.of(4, 1), Method.RING, 1, 1, 4));
        // Ranks 0 and 1 (the ring's one step) agree; rank 3's kernel is twice as long.
        SymmetryCheck check = new SymmetryCheck(r -> {
            SimStream s = new SimStream(r, "compute", false);
            s.add(Op.kernel(s, "k", r == 3 ? 2.0 : 1.0, true));
            return List.of(s);
        }, new RankBlocks(1));
        Symmetry kept = check.axesThatHold(ring);
        assertEquals(4, kept.orbitSize(), "the first check passes");
        SimStream zero = new SimStream(0, "compute", false);
        zero.add(Op.kernel(zero, "k", 1.0, true));
        assertFalse(check.holds(kept, List.of(zero)), "rank 3 is not rank 0's image");
    }

    @Test
    void aDeadlockResolvedOncePerOrbitNamesTheStepAndCountsTheStreamsAsTheWholeLayer() {
        Topology topo = Topology.of(4, 1);
        Symmetry ring = Symmetry.of(DeviceMesh.of(topo, Method.RING, 1, 1, 4));
        HardwareProfile p = HardwareProfile.h200();
        List<String> messages = new ArrayList<>();
        for (Symmetry symmetry : List.of(Symmetry.NONE, ring)) {
            List<SimStream> streams = new ArrayList<>();
            for (int r = 0; r < (symmetry == ring ? 1 : 4); r++) {
                SimStream s = new SimStream(r, "compute", true);
                // every rank sends to the next, and none receives
                s.add(Op.exchange(s, "send to the next", new int[] {(r + 1) % 4}, new long[] {1024}, 1, 0));
                streams.add(s);
            }
            Engine engine = new Engine(p, new Links(topo, p, false, symmetry), symmetry, 4, streams);
            messages.add(assertThrows(ScheduleDeadlockException.class, engine::run).getMessage());
        }
        assertEquals(messages.get(0), messages.get(1));
        assertTrue(messages.get(0).contains("(4 streams stuck in all"), messages.get(0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rotatableMeshes")
    void aRotationCarriesWholeMachinesOntoMachinesAndKeepsEveryLocalGpu(DeviceMesh mesh) {
        Symmetry symmetry = Symmetry.of(mesh);
        int n = mesh.worldSize();
        int g = mesh.topology().gpusPerMachine();
        int[] representatives = symmetry.representatives();
        assertEquals(n, representatives.length * symmetry.orbitSize(), mesh + ": orbits partition the ranks");
        for (int rank = 0; rank < n; rank++) {
            int representative = symmetry.representative(rank);
            assertTrue(Arrays.binarySearch(representatives, representative) >= 0, mesh + " rank " + rank);
            assertTrue(representative <= rank, mesh + ": a representative is its orbit's lowest rank");
            var rotation = symmetry.rotation(representative, rank);
            assertEquals(rank, rotation.applyAsInt(representative),
                    mesh + " carries " + representative + " to " + rank);
            // A machine holds representatives only or none: a NIC that GPUs share is a representative's or not.
            assertEquals(symmetry.isRepresentative(rank), symmetry.isRepresentative(rank - rank % g),
                    mesh + ": rank " + rank + " and its machine's first GPU");
            int[] image = new int[n];
            int[] machineImage = new int[mesh.topology().machines()];
            Arrays.fill(machineImage, -1);
            for (int p = 0; p < n; p++) {
                image[p] = rotation.applyAsInt(p);
                assertEquals(p % g, image[p] % g, mesh + ": rank " + p + " keeps its local GPU");
                int machine = p / g;
                if (machineImage[machine] < 0) {
                    machineImage[machine] = image[p] / g;
                }
                assertEquals(machineImage[machine], image[p] / g, mesh + ": machine " + machine + " moves whole");
                if (rank != representative) {
                    assertNotEquals(p, image[p], mesh + ": only the identity fixes a rank");
                }
            }
            assertEquals(n, Arrays.stream(image).distinct().count(), mesh + ": one-to-one");
        }
    }

    static Stream<DeviceMesh> rotatableMeshes() {
        List<DeviceMesh> meshes = new ArrayList<>();
        for (String topology : new String[] {"4x2", "4x8", "8x4", "16x2", "6x4"}) {
            for (Plan plan : meshes(Topology.parse(topology), AttentionShape.of(1, 1 << 16, 96, 64, DType.BF16))) {
                if (Symmetry.of(plan.mesh()).orbitSize() > 1) {
                    meshes.add(plan.mesh());
                }
            }
        }
        return meshes.stream();
    }
}
