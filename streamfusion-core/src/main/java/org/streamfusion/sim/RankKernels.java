package org.streamfusion.sim;

import org.streamfusion.InvalidConfigurationException;

/**
 * One rank's kernels for one layer, counted rather than timed, so that a fit can price them with any constants
 * ({@link Simulator#rankKernels}): what the one-GPU floor check replays (docs/graphs.md, "Floors").
 *
 * @param headDim       the plan's head width, which picks the attention rate
 * @param launches      kernels launched: attention, copies, format conversions
 * @param waves         waves of every attention launch together ({@code ceil(tiles / SMs)} each)
 * @param fullWaveFlops attention's work at the full-wave rate: every wave as if every SM ran a tile
 * @param memoryBytes   bytes the memory-bound kernels read and write
 */
public record RankKernels(int headDim, long launches, long waves, double fullWaveFlops, double memoryBytes) {

    /**
     * Checks the counts.
     *
     * @throws InvalidConfigurationException if the head width is not positive or a count is negative or not finite
     */
    public RankKernels {
        if (headDim <= 0 || launches < 0 || waves < 0 || !(fullWaveFlops >= 0) || Double.isInfinite(fullWaveFlops)
                || !(memoryBytes >= 0) || Double.isInfinite(memoryBytes)) {
            throw new InvalidConfigurationException("rank kernels D=" + headDim + " launches=" + launches + " waves="
                    + waves + " flops=" + fullWaveFlops + " bytes=" + memoryBytes, "D > 0 and counts >= 0, finite");
        }
    }

    /**
     * {@return the seconds these kernels take one after another on {@code profile}'s GPU, each as it runs alone:
     * a launch cost each, a wave cost per wave, the work at the full-wave rate and the bytes at memory's rate}
     *
     * @param profile the GPU's constants
     */
    public double seconds(HardwareProfile profile) {
        return launches * profile.launchSeconds() + waves * profile.waveSeconds()
                + fullWaveFlops / profile.tileFlopsPerSecond(headDim) + memoryBytes / profile.memoryBytesPerSecond();
    }

    /** The counts of a kernel model that tallies ({@link KernelModel#tallying}), as they stand. */
    static RankKernels of(int headDim, KernelModel model) {
        return new RankKernels(headDim, model.launches, model.waves, model.fullWaveFlops, model.memoryBytes);
    }
}
