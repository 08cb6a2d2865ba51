package org.streamfusion.schedule;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;

/**
 * One {@code forward} as JDK Flight Recorder sees it: which layer, and the host time its enqueue took (the
 * event's duration). Only filled and committed while a recording enables it, so it costs nothing otherwise.
 * The bytes are the plan's per-rank volumes by link class (docs/communication-volume.md), not a measurement.
 */
@Name("org.streamfusion.Layer")
@Label("Attention layer")
@Category({"StreamFusion"})
@Description("One forward of a distributed attention layer on this rank: host time of its enqueue")
final class LayerEvent extends Event {
    @Label("Rank")
    int rank;

    @Label("Method")
    String method;

    @Label("Mesh")
    String mesh;

    @Label("Shape")
    String shape;

    @Label("Bytes inside machines")
    @DataAmount
    long intraMachineBytes;

    @Label("Bytes between machines")
    @DataAmount
    long interMachineBytes;

    @Label("Inter-machine compression")
    String interMachine;

    @Label("Q, K, V exchange")
    @Description("grouped: Q, K and V in one two-sided exchange; separate: one each; none: the layer has no such exchange")
    String qkvExchange;

    @Label("Joint text tokens")
    int jointTextRows;

    @Label("Copies enqueued")
    @Description("Copy kernels this layer enqueued on this rank: the method's own packing and unpacking")
    long copies;

    @Label("Bytes copied")
    @DataAmount
    long copyBytes;

    @Label("FP8 blocks sent in bf16")
    @Description("Blocks (one head of one token) that crossed machines in bf16, not e4m3, since this layer's previous "
            + "event: their estimated logit error was over the limit (docs/algorithms.md, section 7). Read once the "
            + "layer is done: with this event enabled, an FP8 layer's forward waits for its streams")
    long fp8BlocksInBf16;

    @Label("FP8 blocks over the limit")
    @Description("Blocks over the limit that crossed in e4m3 because their chunk's bf16 slots were taken: the stated "
            + "error estimate does not cover them")
    long fp8BlocksOverLimit;

    @Label("Replay")
    @Description("eager: the layer enqueued by forward (or a captured layer that fell back); graph: one graph launch")
    String replay;
}
