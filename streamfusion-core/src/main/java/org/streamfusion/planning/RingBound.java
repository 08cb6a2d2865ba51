package org.streamfusion.planning;

import org.streamfusion.DeviceMesh;
import org.streamfusion.LinkCompression;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.sim.HardwareProfile;

/**
 * A lower bound of a plan's simulated layer time that costs nothing to compute: the fixed costs of its ring
 * transfers, which one stream of each rank issues one after another. The planner skips a mesh whose bound
 * exceeds the fastest layer simulated so far; it cannot be the fastest, nor tie with it.
 *
 * <p>Why it bounds the simulated time (docs/simulator.md, "One planner"): each rank's ring runs on one stream
 * (the {@code ringStream} of its ring); per layer the ring runs once for the Ulysses-ring methods and
 * {@code 2t - 1} times for the torus methods (t Pull-Q stages and t - 1 Pull-KV stages), each run issuing
 * {@code r - 1} fetches, each a transfer to or from another rank: two GatherPulls (K, V) for STREAMFUSION, one
 * grouped exchange for the others. The simulator's engine lets a stream reach its next op only when the last
 * one ended, ends a GatherPull from another rank no earlier than {@code oneSidedOpSeconds} after the stream
 * reached it, and an exchange with peers no earlier than {@code twoSidedOpSeconds} after it was posted. So the
 * ring stream, and with it the layer, lasts at least the sum of those fixed costs. With inter-machine compression
 * the exchanges may be rewritten; no bound is claimed then.
 */
final class RingBound {
    private RingBound() {
    }

    /** {@return at least how long {@code plan}'s layer simulates on {@code profile}, in seconds; 0 when unknown} */
    static double seconds(Plan plan, HardwareProfile profile) {
        if (plan.interMachine() != LinkCompression.NONE || plan.jointTextRows() > 0) {
            return 0;
        }
        DeviceMesh mesh = plan.mesh();
        long fetches = (long) (mesh.ring() - 1) * switch (plan.method()) {
            case ULYSSES -> 0;
            case RING, USP, TAS -> 1;
            case TORUS_TWO_SIDED, STREAMFUSION -> 2L * mesh.torus() - 1;
        };
        double perFetch = plan.method() == Method.STREAMFUSION ? 2 * profile.oneSidedOpSeconds()
                : profile.twoSidedOpSeconds();
        return fetches * perFetch;
    }
}
