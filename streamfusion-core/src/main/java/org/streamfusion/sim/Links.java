package org.streamfusion.sim;

import org.streamfusion.InterMachineLink;
import org.streamfusion.Topology;

/**
 * The links as queues: one NVLink/NVSwitch send port per GPU, and one NIC per GPU or {@code k} per machine
 * shared by its GPUs ({@link InterMachineLink#nicOf}). A transfer queues behind the transfers that took its sender's port
 * or NIC before it (first come, first served in virtual time), holds it for {@code bytes / rate}, and
 * lands {@code latency} later (the latency is in flight, not in the queue: a NIC keeps many messages
 * outstanding). NVSwitch is non-blocking, and every pattern the schedules use sends as much into each
 * GPU and machine as out of it, so receive ports are not queued separately.
 */
final class Links {
    private final Topology topology;
    private final HardwareProfile profile;
    private final double[] nvlinkFree;
    private final double[] nicFree;

    Links(Topology topology, HardwareProfile profile) {
        this.topology = topology;
        this.profile = profile;
        this.nvlinkFree = new double[topology.worldSize()];
        this.nicFree = new double[profile.link().nicCount(topology.machines(), topology.gpusPerMachine())];
    }

    /**
     * Reserves the path of {@code bytes} from {@code source} to {@code destination}, starting no earlier
     * than {@code start}, and returns when the bytes have landed. {@code copyEngine}: an NVLink get on
     * the copy engines, slower than SM stores (docs/native.md).
     */
    double transfer(int source, int destination, long bytes, double start, boolean copyEngine) {
        if (source == destination) {
            return start + 2.0 * bytes / profile.memoryBytesPerSecond(); // a local copy: read and write
        }
        int sourceMachine = topology.machineOf(source);
        if (sourceMachine == topology.machineOf(destination)) {
            double rate = copyEngine ? profile.copyEngineBytesPerSecond() : profile.nvlinkBytesPerSecond();
            double begin = Math.max(start, nvlinkFree[source]);
            nvlinkFree[source] = begin + bytes / rate;
            return nvlinkFree[source];
        }
        InterMachineLink link = profile.link();
        int g = topology.gpusPerMachine();
        int nic = link.nicOf(sourceMachine, source - sourceMachine * g, g);
        double begin = Math.max(start, nicFree[nic]);
        double busy = Double.isInfinite(link.bytesPerSecond()) ? 0 : bytes / link.bytesPerSecond();
        nicFree[nic] = begin + busy;
        return nicFree[nic] + link.latencySeconds();
    }

    /** What a barrier costs beyond waiting for its last member: dissemination rounds over the slowest link. */
    double barrierSeconds(int[] members) {
        int first = topology.machineOf(members[0]);
        boolean crosses = false;
        for (int m : members) {
            crosses |= topology.machineOf(m) != first;
        }
        if (!crosses || members.length < 2) {
            return 0;
        }
        int rounds = 32 - Integer.numberOfLeadingZeros(members.length - 1); // ceil(log2 n)
        return rounds * profile.link().latencySeconds();
    }
}
