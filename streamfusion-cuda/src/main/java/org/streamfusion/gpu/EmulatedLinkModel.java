package org.streamfusion.gpu;

import java.util.Locale;
import org.streamfusion.InterMachineLink;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.LinkClass;
import org.streamfusion.Topology;

/**
 * The emulated link as one rank sees it, with no native state: which peers are across the logical
 * machine boundary, how long a transfer holds a NIC, whose clock it queues on, and the line every output
 * that used the emulation prints.
 */
final class EmulatedLinkModel {
    /** A NIC has a clock per direction: sends and puts go out, receives and gets come in. */
    enum Direction {
        OUTGOING, INCOMING
    }

    private final InterMachineLink configured;
    private final InterMachineLink effective;
    private final Topology topology;
    private final int rank;
    private final boolean sharedClock;
    private final String report;

    private EmulatedLinkModel(InterMachineLink configured, InterMachineLink effective, Topology topology, int rank,
            boolean sharedClock, String report) {
        this.configured = configured;
        this.effective = effective;
        this.topology = topology;
        this.rank = rank;
        this.sharedClock = sharedClock;
        this.report = report;
    }

    /** Whether a NIC per machine needs a clock that several GPUs share (more than one GPU per machine). */
    static boolean needsSharedClock(InterMachineLink link, Topology topology) {
        return link.nics() == InterMachineLink.Nics.PER_MACHINE && topology.gpusPerMachine() > 1;
    }

    /**
     * {@code sharedClockAvailable}: this rank can update a word on its machine's first GPU (NVSHMEM on and
     * mapped). A NIC per machine without one falls back to each GPU's share of it, as a NIC of its own.
     */
    static EmulatedLinkModel of(InterMachineLink link, Topology topology, int rank, boolean sharedClockAvailable) {
        if (link == null || topology == null) {
            throw new InvalidConfigurationException("link=" + link + ", topology=" + topology, "both are given");
        }
        topology.machineOf(rank); // throws for a rank outside the world
        if (link.nicsPerMachine() > 1) {
            throw new InvalidConfigurationException("emulated inter-machine link " + link, "the emulated link keeps one"
                    + " clock per GPU or one per machine: a NIC per GPU or one NIC per machine (the simulator models more)");
        }
        int g = topology.gpusPerMachine();
        String prefix = "emulated inter-machine link " + link;
        if (!needsSharedClock(link, topology)) {
            String clocks = link.nics() == InterMachineLink.Nics.PER_GPU ? "a clock per GPU and direction"
                    : "a NIC per machine of one GPU: a clock per GPU and direction";
            return new EmulatedLinkModel(link, link, topology, rank, false, prefix + "; " + clocks);
        }
        if (sharedClockAvailable) {
            return new EmulatedLinkModel(link, link, topology, rank, true, prefix + "; a clock per direction shared by"
                    + " the machine's " + g + " GPUs (NVSHMEM word on its first GPU, system-scope atomics)");
        }
        InterMachineLink share = link.perGpuShareOf(g);
        return new EmulatedLinkModel(link, share, topology, rank, false, prefix + " emulated as each GPU's share "
                + share + ": NVSHMEM is off, so the machine's " + g + " GPUs have no shared clock");
    }

    /** Whether a transfer between this rank and {@code peer} crosses machines and so takes the emulated link. */
    boolean crosses(int peer) {
        return topology.linkBetween(rank, peer) == LinkClass.INTER_MACHINE;
    }

    /** Nanoseconds {@code messages} messages of {@code bytes} in all hold a NIC: latency each, plus bytes over bandwidth. */
    long durationNanos(long bytes, int messages) {
        if (bytes < 0 || messages < 0) {
            throw new InvalidConfigurationException("transfer of " + bytes + " bytes in " + messages + " messages",
                    "bytes >= 0 and messages >= 0");
        }
        double seconds = messages * effective.latencySeconds()
                + (Double.isInfinite(effective.bytesPerSecond()) ? 0 : bytes / effective.bytesPerSecond());
        return Math.round(seconds * 1e9);
    }

    /** The rank whose memory holds the clock this rank queues on: itself, or its machine's first GPU. */
    int clockOwner() {
        return sharedClock ? topology.machineOf(rank) * topology.gpusPerMachine() : rank;
    }

    boolean sharedClock() {
        return sharedClock;
    }

    /** The link as configured. */
    InterMachineLink configured() {
        return configured;
    }

    /** The link the durations use: the configured one, or each GPU's share of it. */
    InterMachineLink effective() {
        return effective;
    }

    /** The line outputs print, e.g. {@code emulated inter-machine link rail-400G (...); a clock per GPU and direction}. */
    String report() {
        return report;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s [rank %d of %s]", report, rank, topology);
    }
}
