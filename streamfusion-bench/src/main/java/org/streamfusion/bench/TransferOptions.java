package org.streamfusion.bench;

import java.util.ArrayList;
import java.util.List;
import org.streamfusion.Topology;
import picocli.CommandLine.Option;

/**
 * The options of the checks that time transfers ({@code check all-to-all}, {@code emulated-link}): the logical
 * topology (N is the job's world size), the sizes and the timed rounds per size; each check gives its own defaults.
 */
final class TransferOptions {
    @Option(names = {"-t", "--topology"}, paramLabel = "MxG",
            description = "logical topology; N is the job's world size (default: ${DEFAULT-VALUE})")
    String topology;

    @Option(names = "--mib", split = ",", paramLabel = "MiB", description = "sizes in MiB (default: ${DEFAULT-VALUE})")
    List<Long> sizesMib;

    @Option(names = "--reps", paramLabel = "COUNT", description = "timed rounds per size (default: ${DEFAULT-VALUE})")
    int reps;

    TransferOptions(String topology, List<Long> sizesMib, int reps) {
        this.topology = topology;
        this.sizesMib = new ArrayList<>(sizesMib);
        this.reps = reps;
    }

    Topology topology(int worldSize) {
        return LayerOptions.topology(topology, worldSize);
    }
}
