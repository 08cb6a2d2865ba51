package org.streamfusion.gpu;

import java.util.concurrent.atomic.LongAdder;
import org.streamfusion.LinkClass;
import org.streamfusion.Topology;

/** Bytes a rank initiated (sends, puts, gets) since it joined: per link class, and per one-sided mover. */
final class LinkCounters {
    private final Topology topology;
    private final int rank;
    private final LongAdder[] perLinkClass = {new LongAdder(), new LongAdder(), new LongAdder()};
    private final LongAdder[] perMover = {new LongAdder(), new LongAdder()};

    LinkCounters(Topology topology, int rank) {
        this.topology = topology;
        this.rank = rank;
    }

    /** {@code bytes} to or from {@code peer}, on the link class between it and this rank. */
    void count(int peer, long bytes) {
        perLinkClass[topology.linkBetween(rank, peer).ordinal()].add(bytes);
    }

    /** {@code bytes} of a ScatterPush or GatherPull that {@code mover} carried. */
    void countMover(GpuOptions.OneSidedMover mover, long bytes) {
        perMover[mover.ordinal()].add(bytes);
    }

    long bytes(LinkClass linkClass) {
        return perLinkClass[linkClass.ordinal()].sum();
    }

    long oneSidedBytes(GpuOptions.OneSidedMover mover) {
        return perMover[mover.ordinal()].sum();
    }
}
