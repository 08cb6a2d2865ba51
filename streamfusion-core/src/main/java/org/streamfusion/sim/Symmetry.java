package org.streamfusion.sim;

import java.util.Arrays;
import java.util.function.IntUnaryOperator;
import java.util.stream.IntStream;
import org.streamfusion.DeviceMesh;

/**
 * The machine rotations of a mesh, under which a layer may be resolved once per orbit of ranks. A rotation turns
 * one axis of the mesh (torus, Ulysses or ring) by a step whose rank shift, wrapped or not, is a whole number of
 * machines: it carries every machine onto a machine and every GPU onto the GPU of the same local index, so each GPU's
 * links (NVLink port, NIC by local index, proxy, PCIe) look the same from every image. The rotations of the chosen
 * axes form an abelian group in which only the identity fixes a rank. Whether a layer is symmetric under it is not
 * assumed: {@link SymmetryCheck} compares the recorded ranks.
 *
 * <p>The representative of a rank is the rank of its orbit whose rotated indices are below their steps, the orbit's
 * lowest. While the representatives alone are resolved, a rank outside them stands for its orbit: its links are its
 * representative's, and a transfer is matched in the frame that carries its destination onto a representative
 * ({@link #carry}).
 */
final class Symmetry {
    /** The identity alone: every rank is its own representative (no mesh: nothing to rotate). */
    static final Symmetry NONE = new Symmetry(null, new int[] {1, 1, 1}, new int[] {1, 1, 1});

    private final DeviceMesh mesh;
    /** Per axis (torus, Ulysses, ring): degree and rotation step; a step equal to the degree does not rotate. */
    private final int[] degrees;
    private final int[] steps;
    private final int orbitSize;

    private Symmetry(DeviceMesh mesh, int[] degrees, int[] steps) {
        this.mesh = mesh;
        this.degrees = degrees;
        this.steps = steps;
        int size = 1;
        for (int axis = 0; axis < 3; axis++) {
            size *= degrees[axis] / steps[axis];
        }
        this.orbitSize = size;
    }

    /** {@return the rotations of every axis of {@code mesh} that moves ranks by whole machines} */
    static Symmetry of(DeviceMesh mesh) {
        int[] degrees = {mesh.torus(), mesh.ulysses(), mesh.ring()};
        int[] strides = {mesh.rankOf(1, 0, 0), mesh.rankOf(0, 1, 0), mesh.rankOf(0, 0, 1)};
        int g = mesh.topology().gpusPerMachine();
        int[] steps = new int[3];
        for (int axis = 0; axis < 3; axis++) {
            int d = degrees[axis];
            steps[axis] = d;
            // The wrapped shift is (step - degree) * stride: both must be whole machines.
            if ((long) d * strides[axis] % g == 0) {
                for (int step = 1; step < d; step++) {
                    if (d % step == 0 && (long) step * strides[axis] % g == 0) {
                        steps[axis] = step;
                        break;
                    }
                }
            }
        }
        return new Symmetry(mesh, degrees, steps);
    }

    /** {@return the rotations of the axes with {@code keep} set alone} */
    Symmetry onAxes(boolean[] keep) {
        if (mesh == null) {
            return this;
        }
        int[] kept = degrees.clone();
        for (int axis = 0; axis < 3; axis++) {
            kept[axis] = keep[axis] ? steps[axis] : degrees[axis];
        }
        return new Symmetry(mesh, degrees, kept);
    }

    /** {@return how many ranks each orbit holds (1: no rotation)} */
    int orbitSize() {
        return orbitSize;
    }

    /** {@return the ranks of the mesh} */
    int worldSize() {
        return mesh == null ? 0 : mesh.worldSize();
    }

    /** {@return the representatives, in rank order} */
    int[] representatives() {
        return IntStream.range(0, worldSize()).filter(this::isRepresentative).toArray();
    }

    /** {@return rank 0's image under one step of {@code axis}; 0 where that axis does not rotate} */
    int oneStep(int axis) {
        if (mesh == null || steps[axis] == degrees[axis]) {
            return 0;
        }
        return mesh.rankOf(axis == 0 ? steps[0] : 0, axis == 1 ? steps[1] : 0, axis == 2 ? steps[2] : 0);
    }

    boolean isRepresentative(int rank) {
        return orbitSize == 1 || mesh.torusIndex(rank) < steps[0] && mesh.ulyssesIndex(rank) < steps[1]
                && mesh.ringIndex(rank) < steps[2];
    }

    /** {@return the representative of {@code rank}'s orbit} */
    int representative(int rank) {
        if (orbitSize == 1) {
            return rank;
        }
        return mesh.rankOf(mesh.torusIndex(rank) % steps[0], mesh.ulyssesIndex(rank) % steps[1],
                mesh.ringIndex(rank) % steps[2]);
    }

    /**
     * The image of {@code rank} under the rotation that carries {@code from} onto {@code to} (two ranks of one orbit;
     * the rotation is unique, since only the identity fixes a rank).
     */
    int carry(int rank, int from, int to) {
        return from == to ? rank : rotation(from, to).applyAsInt(rank);
    }

    /** {@return the rotation that carries {@code from} onto {@code to}, two ranks of one orbit} */
    IntUnaryOperator rotation(int from, int to) {
        if (from == to) {
            return IntUnaryOperator.identity();
        }
        int torus = mesh.torusIndex(to) - mesh.torusIndex(from);
        int ulysses = mesh.ulyssesIndex(to) - mesh.ulyssesIndex(from);
        int ring = mesh.ringIndex(to) - mesh.ringIndex(from);
        return rank -> mesh.rankOf(Math.floorMod(mesh.torusIndex(rank) + torus, degrees[0]),
                Math.floorMod(mesh.ulyssesIndex(rank) + ulysses, degrees[1]),
                Math.floorMod(mesh.ringIndex(rank) + ring, degrees[2]));
    }

    /**
     * Whether a barrier of {@code members} completes among the representatives as among all its members: they are
     * listed in rank order (so that every member names the barrier alike), and the rotation that carries a member onto
     * its representative carries the members onto themselves, so the member's arrival is its representative's at the
     * same barrier.
     */
    boolean keepsMembers(int[] members) {
        int[] sorted = members.clone();
        Arrays.sort(sorted);
        if (!Arrays.equals(sorted, members)) {
            return false;
        }
        for (int m : members) {
            int representative = representative(m);
            if (representative != m) {
                IntUnaryOperator rotation = rotation(m, representative);
                if (!Arrays.equals(members, Arrays.stream(members).map(rotation).sorted().toArray())) {
                    return false;
                }
            }
        }
        return true;
    }

    /** {@return how many of {@code members} are representatives: the arrivals a barrier of theirs waits for} */
    int representativesAmong(int[] members) {
        if (orbitSize == 1) {
            return members.length;
        }
        int count = 0;
        for (int m : members) {
            count += isRepresentative(m) ? 1 : 0;
        }
        return count;
    }

    @Override
    public String toString() {
        if (mesh == null) {
            return "no rotation";
        }
        return "rotations of " + mesh + " by " + Arrays.toString(steps) + " of " + Arrays.toString(degrees)
                + " (orbits of " + orbitSize + ")";
    }
}
