package org.streamfusion.sim;

import org.streamfusion.Plan;

/**
 * One simulated layer: its time and where the time of the slowest rank's compute stream went.
 * {@code total = compute + exposedCommunication + synchronisation}.
 *
 * @param plan                         what was simulated
 * @param totalSeconds                 from the first op to the last op of any stream
 * @param computeSeconds               attention kernels on the slowest rank's compute stream (launches included)
 * @param exposedCommunicationSeconds  its compute stream idle, waiting for data movement (transfers, packing, unpacking)
 * @param synchronisationSeconds       idle, waiting for barriers and for other streams' or ranks' work
 * @param criticalRank                 the rank whose compute stream ends last
 */
public record SimulatedTime(Plan plan, double totalSeconds, double computeSeconds, double exposedCommunicationSeconds,
        double synchronisationSeconds, int criticalRank) {
}
