package org.streamfusion.planning;

import java.util.List;
import java.util.Locale;
import org.streamfusion.AttentionShape;
import org.streamfusion.LinkCompression;
import org.streamfusion.Topology;
import org.streamfusion.planning.Planner.Candidate;
import org.streamfusion.sim.SimulatedTime;

/**
 * The text of {@link Planner#explain}: every candidate's simulated time in parts beside the closed form's bytes per
 * link class, and the pick.
 */
final class RankingTable {
    private RankingTable() {
    }

    static String format(List<Candidate> ranked, Candidate pick, AttentionShape shape, Topology topology, String profile,
            LinkCompression compression) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%s on %d machines x %d GPUs%s%n", shape, topology.machines(),
                topology.gpusPerMachine(), compression == LinkCompression.NONE ? ""
                        : ", inter-machine transfers " + compression));
        sb.append("ranked by simulated layer time on ").append(profile).append('\n');
        sb.append(String.format(Locale.ROOT, "%-16s %-16s %10s %10s %10s %10s %12s %12s  %s%n", "method", "mesh",
                "total ms", "compute", "exposed", "sync", "intra MB/GPU", "inter MB/GPU", "note"));
        for (Candidate c : ranked) {
            if (c.valid() && !c.simulated()) {
                sb.append(String.format(Locale.ROOT, "%-16s %-16s %10s %10s %10s %10s %12.2f %12.2f  not simulated: its ring"
                        + " transfers alone take at least %.3f ms%n", c.method(), c.degrees(), "-", "-", "-", "-",
                        c.intraBytes() / 1e6, c.interBytes() / 1e6, c.lowerBoundSeconds() * 1e3));
            } else if (c.valid()) {
                SimulatedTime t = c.time();
                sb.append(String.format(Locale.ROOT, "%-16s %-16s %10.3f %10.3f %10.3f %10.3f %12.2f %12.2f%n",
                        c.method(), c.degrees(), t.totalSeconds() * 1e3, t.computeSeconds() * 1e3,
                        t.exposedCommunicationSeconds() * 1e3, t.synchronisationSeconds() * 1e3, c.intraBytes() / 1e6,
                        c.interBytes() / 1e6));
            } else {
                sb.append(String.format(Locale.ROOT, "%-16s %-16s %10s %10s %10s %10s %12s %12s  invalid: %s%n",
                        c.method(), c.degrees(), "-", "-", "-", "-", "-", "-", c.invalidReason()));
            }
        }
        sb.append("chosen: ").append(pick.plan().mesh()).append(String.format(Locale.ROOT, ", %.3f ms simulated%n",
                pick.seconds() * 1e3));
        return sb.toString();
    }
}
