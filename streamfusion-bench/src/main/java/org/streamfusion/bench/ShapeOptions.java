package org.streamfusion.bench;

import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import picocli.CommandLine.Option;

/**
 * The layer's size, {@code --seq S --heads H --dim D}, shared by every command that runs or plans one layer; each
 * command gives its own defaults (picocli shows them in {@code --help}).
 */
final class ShapeOptions {
    @Option(names = {"-S", "--seq"}, paramLabel = "S", description = "sequence length S in tokens (default: ${DEFAULT-VALUE})")
    int seqLen;

    @Option(names = {"-H", "--heads"}, paramLabel = "H", description = "attention heads H (default: ${DEFAULT-VALUE})")
    int heads;

    @Option(names = {"-D", "--dim"}, paramLabel = "D", description = "head width D (default: ${DEFAULT-VALUE})")
    int headDim;

    /**
     * Options whose defaults are these; picocli replaces each one given.
     *
     * @param seqLen  S
     * @param heads   H
     * @param headDim D
     */
    public ShapeOptions(int seqLen, int heads, int headDim) {
        this.seqLen = seqLen;
        this.heads = heads;
        this.headDim = headDim;
    }

    /**
     * The layer these options describe.
     *
     * @param batch B
     * @param dtype the element type
     * @return the shape
     * @throws org.streamfusion.InvalidConfigurationException if a size is not positive
     */
    public AttentionShape shape(int batch, DType dtype) {
        return AttentionShape.of(batch, seqLen, heads, headDim, dtype);
    }
}
