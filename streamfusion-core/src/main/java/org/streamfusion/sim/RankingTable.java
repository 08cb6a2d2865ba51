package org.streamfusion.sim;

import java.util.List;
import java.util.Locale;
import org.streamfusion.AttentionShape;
import org.streamfusion.LinkCompression;
import org.streamfusion.Topology;
import org.streamfusion.planning.Planner;
import org.streamfusion.sim.Simulator.Ranked;

/** The text of {@link Simulator#explain}: every candidate's simulated time in parts, and the pick. */
final class RankingTable {
    private RankingTable() {
    }

    static String format(List<Ranked> ranked, Ranked pick, AttentionShape shape, Topology topology,
            HardwareProfile profile, LinkCompression compression) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%s on %d machines x %d GPUs, simulated on %s%s%n", shape,
                topology.machines(), topology.gpusPerMachine(), profile,
                compression == LinkCompression.NONE ? "" : ", inter-machine transfers " + compression));
        sb.append(String.format(Locale.ROOT, "%-16s %-16s %10s %10s %10s %10s  %s%n", "method", "mesh", "total ms",
                "compute", "exposed", "sync", "note"));
        for (Ranked r : ranked) {
            Planner.Candidate c = r.candidate();
            if (r.valid()) {
                SimulatedTime t = r.time();
                sb.append(String.format(Locale.ROOT, "%-16s %-16s %10.3f %10.3f %10.3f %10.3f%n", c.method(), c.degrees(),
                        t.totalSeconds() * 1e3, t.computeSeconds() * 1e3, t.exposedCommunicationSeconds() * 1e3,
                        t.synchronisationSeconds() * 1e3));
            } else {
                sb.append(String.format(Locale.ROOT, "%-16s %-16s %10s %10s %10s %10s  invalid: %s%n", c.method(),
                        c.degrees(), "-", "-", "-", "-", c.invalidReason()));
            }
        }
        sb.append("pick: ").append(pick.time().plan().mesh()).append(String.format(Locale.ROOT, ", %.3f ms%n",
                pick.time().totalSeconds() * 1e3));
        return sb.toString();
    }
}
