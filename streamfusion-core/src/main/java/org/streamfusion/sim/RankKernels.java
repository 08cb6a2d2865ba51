package org.streamfusion.sim;

import org.streamfusion.AttentionShape;
import org.streamfusion.InvalidConfigurationException;

/**
 * One rank's kernels for one layer, counted rather than timed, so that a fit can price them with any constants
 * ({@link Simulator#rankKernels}): what the one-GPU floor check replays (docs/graphs.md, "Floors"), or one attention
 * launch alone ({@link #oneLaunch}).
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
     * One attention launch of a whole layer on one GPU of {@code sms} SMs, as the kernel benchmark times it: every
     * (batch, head)'s {@code ceil(S/128)} Q tiles against all {@code S} keys (rounded up to whole KV tiles).
     *
     * @param shape the layer
     * @param sms   the GPU's SMs, positive
     * @return the launch, counted
     * @throws InvalidConfigurationException if {@code sms} is not positive
     */
    public static RankKernels oneLaunch(AttentionShape shape, int sms) {
        if (sms <= 0) {
            throw new InvalidConfigurationException("one launch on " + sms + " SMs", "SMs > 0");
        }
        long kvTiles = (shape.seqLen() + KernelModel.TILE_ROWS - 1) / KernelModel.TILE_ROWS;
        long waves = KernelModel.waves((long) shape.batch() * shape.heads() * kvTiles, sms);
        return new RankKernels(shape.headDim(), 1, waves,
                KernelModel.fullWaveFlops(waves, kvTiles * KernelModel.TILE_ROWS, shape.headDim(), sms), 0);
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

    /** What a counting {@link KernelModel} adds its kernels to; one rank, one thread. */
    static final class Tally {
        private long launches;
        private long waves;
        private double fullWaveFlops;
        private double memoryBytes;

        void attention(long launchWaves, double flops) {
            launches++;
            waves += launchWaves;
            fullWaveFlops += flops;
        }

        void memory(double bytes) {
            launches++;
            memoryBytes += bytes;
        }

        RankKernels of(int headDim) {
            return new RankKernels(headDim, launches, waves, fullWaveFlops, memoryBytes);
        }
    }
}
