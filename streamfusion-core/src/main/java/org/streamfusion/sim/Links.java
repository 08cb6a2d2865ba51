package org.streamfusion.sim;

import org.streamfusion.InterMachineLink;
import org.streamfusion.Topology;

/**
 * The links as queues: one NVLink/NVSwitch send port per GPU, and one NIC per GPU or {@code k} per machine
 * shared by its GPUs ({@link InterMachineLink#nicOf}). A transfer queues behind the transfers that took its sender's port
 * or NIC before it (first come, first served in virtual time), holds it for {@code bytes / rate}, and
 * lands {@code latency} later (the latency is in flight, not in the queue: a NIC keeps many messages
 * outstanding). NVSwitch is non-blocking, and every pattern the schedules use sends as much into each
 * GPU and machine as out of it, so receive ports are not queued separately. On a proxy-driven link
 * ({@link InterMachineLink#proxyDriven}) every message also waits for the sending GPU's proxy thread, which spends
 * {@link HardwareProfile#proxyMessageSeconds} on it before the NIC takes it, and for the receiving GPU's, which spends
 * as much after it lands; its bytes cross the sender's PCIe, a queue of its own per GPU pipelined with the NIC (a NIC
 * per machine serves several GPUs, each with its own PCIe): a message ends when both have moved it. The receiver's
 * PCIe and proxy are not queued: transfers are reserved in the order they start, not the order they land, so a
 * receive queue would hold a small message behind a large one that lands later. On one host
 * ({@link Simulator#onOneHost}) every pair of GPUs is joined by NVLink and barriers cross no network. Under a
 * {@link Symmetry} a sender's port, NIC, proxy and PCIe are its representative's: they are the same at every
 * image.
 */
final class Links {
    private final Topology topology;
    private final HardwareProfile profile;
    private final double[] nvlinkFree;
    private final double[] nicFree;
    private final double[] sendProxyFree;
    private final double[] pcieFree;
    /** Every GPU on one host: the machines are logical and every transfer takes NVLink. */
    private final boolean oneHost;
    private final Symmetry symmetry;

    Links(Topology topology, HardwareProfile profile, boolean oneHost, Symmetry symmetry) {
        this.topology = topology;
        this.symmetry = symmetry;
        this.profile = profile;
        this.oneHost = oneHost;
        this.nvlinkFree = new double[topology.worldSize()];
        this.nicFree = new double[profile.link().nicCount(topology.machines(), topology.gpusPerMachine())];
        boolean proxy = profile.link().proxyDriven() && !oneHost;
        this.sendProxyFree = new double[proxy ? topology.worldSize() : 0];
        this.pcieFree = new double[proxy ? topology.worldSize() : 0];
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
        int sender = symmetry.representative(source); // whose port, NIC, proxy and PCIe
        int senderMachine = topology.machineOf(sender);
        if (sameMachine(source, destination)) {
            double rate = copyEngine ? profile.copyEngineBytesPerSecond() : profile.nvlinkBytesPerSecond();
            double begin = Math.max(start, nvlinkFree[sender]);
            nvlinkFree[sender] = begin + bytes / rate;
            return nvlinkFree[sender];
        }
        InterMachineLink link = profile.link();
        int g = topology.gpusPerMachine();
        int nic = link.nicOf(senderMachine, sender - senderMachine * g, g);
        double onNic = Double.isInfinite(link.bytesPerSecond()) ? 0 : bytes / link.bytesPerSecond();
        if (!link.proxyDriven()) {
            nicFree[nic] = Math.max(start, nicFree[nic]) + onNic;
            return nicFree[nic] + link.latencySeconds();
        }
        // The proxy posts the message; then the sender's PCIe and the NIC move it, pipelined, each busy for its own time.
        double posted = Math.max(start, sendProxyFree[sender]) + profile.proxyMessageSeconds();
        sendProxyFree[sender] = posted;
        pcieFree[sender] = Math.max(posted, pcieFree[sender]) + bytes / profile.pcieBytesPerSecond();
        nicFree[nic] = Math.max(posted, nicFree[nic]) + onNic;
        return Math.max(pcieFree[sender], nicFree[nic]) + link.latencySeconds() + profile.proxyMessageSeconds();
    }

    /** {@return whether two GPUs are in one machine (NVLink between them)} */
    boolean sameMachine(int a, int b) {
        return oneHost || topology.machineOf(a) == topology.machineOf(b);
    }

    /** What a barrier costs beyond waiting for its last member: dissemination rounds over the slowest link. */
    double barrierSeconds(int[] members) {
        if (oneHost) {
            return 0;
        }
        int first = topology.machineOf(members[0]);
        boolean crosses = false;
        for (int m : members) {
            crosses |= topology.machineOf(m) != first;
        }
        if (!crosses || members.length < 2) {
            return 0;
        }
        int rounds = 32 - Integer.numberOfLeadingZeros(members.length - 1); // ceil(log2 n)
        // A round's message is handled by a proxy thread at each end on a proxy-driven link.
        double proxy = profile.link().proxyDriven() ? 2 * profile.proxyMessageSeconds() : 0;
        return rounds * (profile.link().latencySeconds() + proxy);
    }
}
