package org.streamfusion.bench;

import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.Topology;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The options the one-layer GPU checks share: a bf16 layer with B = 1 on a (logical) topology, timed {@code --reps}
 * times ({@code check attention}, {@code graphs}, {@code qkv-exchange}, {@code kernel-floor}). {@code N} in the
 * topology stands for the job's world size, so {@code 1xN} is one machine of every rank.
 */
final class LayerOptions {
    @Option(names = {"-t", "--topology"}, paramLabel = "MxG",
            description = "logical topology, M machines x G GPUs; N is the job's world size (default: ${DEFAULT-VALUE})")
    String topology;

    @Mixin
    ShapeOptions size;

    @Option(names = "--reps", paramLabel = "COUNT", description = "timed repetitions, at least 1 (default: ${DEFAULT-VALUE})")
    int reps;

    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    /**
     * Options whose defaults are these; picocli replaces each one given.
     *
     * @param topology MxG, where N stands for the world size
     * @param seqLen   S
     * @param heads    H
     * @param headDim  D
     * @param reps     timed repetitions
     */
    public LayerOptions(String topology, int seqLen, int heads, int headDim, int reps) {
        this.topology = topology;
        this.size = new ShapeOptions(seqLen, heads, headDim);
        this.reps = reps;
    }

    /**
     * The topology, with N read as {@code worldSize}.
     *
     * @param worldSize the job's ranks
     * @return the topology
     * @throws org.streamfusion.InvalidConfigurationException if it is not MxG
     */
    public Topology topology(int worldSize) {
        return topology(topology, worldSize);
    }

    /**
     * A topology option's text, with N read as {@code worldSize}.
     *
     * @param mxg       MxG, where N may stand for the world size
     * @param worldSize the job's ranks
     * @return the topology
     * @throws org.streamfusion.InvalidConfigurationException if it is not MxG
     */
    public static Topology topology(String mxg, int worldSize) {
        return Topology.parse(mxg.replace("N", String.valueOf(worldSize)));
    }

    /** {@return the bf16 layer with B = 1} */
    public AttentionShape shape() {
        return size.shape(1, DType.BF16);
    }

    /**
     * The timed repetitions.
     *
     * @return {@code --reps}
     * @throws ParameterException if it is below 1 (a median of nothing): a usage error
     */
    public int reps() {
        if (reps < 1) {
            throw new ParameterException(command.commandLine(), "--reps " + reps + " must be at least 1");
        }
        return reps;
    }
}
