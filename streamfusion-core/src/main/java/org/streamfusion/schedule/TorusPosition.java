package org.streamfusion.schedule;

import org.streamfusion.DeviceMesh;
import org.streamfusion.ProcessGroup;

/**
 * Where one rank sits on a torus mesh {@code (t, u', r)}: GPU {@code (l, a, b)} with {@code l} the torus
 * index, {@code a} the intra-machine Ulysses index and {@code b} the ring index (docs/algorithms.md,
 * section 3).
 */
record TorusPosition(DeviceMesh mesh, int rank, int torusIndex, int ulyssesIndex, int ringIndex) {
    static TorusPosition of(DeviceMesh mesh, int rank) {
        return new TorusPosition(mesh, rank, mesh.torusIndex(rank), mesh.ulyssesIndex(rank), mesh.ringIndex(rank));
    }

    /** {@code t}: the torus degree. */
    int torusDegree() {
        return mesh.torus();
    }

    /** {@code u'}: the Ulysses degree inside a machine. */
    int ulyssesDegree() {
        return mesh.ulysses();
    }

    /** The {@code u'} GPUs {@code (l, *, b)}. */
    ProcessGroup intraMachine() {
        return mesh.ulyssesGroup(rank);
    }

    /** The {@code t} GPUs {@code (*, a, b)}. */
    ProcessGroup torus() {
        return mesh.torusGroup(rank);
    }

    /** The {@code r} GPUs {@code (l, a, *)}. */
    ProcessGroup ring() {
        return mesh.ringGroup(rank);
    }

    /** The rank of GPU {@code (torusIndex, ulyssesIndex, b)}: same ring index as this one. */
    int rankAt(int torusIndex, int ulyssesIndex) {
        return mesh.rankOf(torusIndex, ulyssesIndex, ringIndex);
    }

    /** Torus index {@code (l + shift) mod t}. */
    int torusIndexAfter(int shift) {
        int t = torusDegree();
        return ((torusIndex + shift) % t + t) % t;
    }
}
