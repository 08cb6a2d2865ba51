package org.streamfusion.cpu;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Enabled;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;

/**
 * One op of a CPU stream as JDK Flight Recorder sees it: rank, stream, step and how long the op ran (waits
 * included). Off unless a recording enables it ({@code jfr configure} or
 * {@code -XX:StartFlightRecording:settings=...} with {@code org.streamfusion.CpuOp#enabled=true}): it shows on
 * a timeline which ranks compute at once and which wait.
 */
@Name("org.streamfusion.CpuOp")
@Label("CPU stream op")
@Category({"StreamFusion"})
@Description("One op of a CPU backend stream: kernel, transfer, barrier or wait")
@Enabled(false)
final class CpuOpEvent extends Event {
    @Label("Rank")
    int rank;

    @Label("Stream")
    String stream;

    @Label("Step")
    String step;
}
