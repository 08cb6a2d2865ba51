package org.streamfusion.sim;

import java.util.List;
import org.streamfusion.backend.TensorView;
import org.streamfusion.spi.KvChunk;
import org.streamfusion.spi.QChunk;

/**
 * Durations of the kernels of {@code csrc/} (docs/kernels.md): the fused attention runs one block per
 * 128-row Q tile of one (batch, head) and one block per SM at a time, walking every KV chunk in tiles of
 * 128 rows (a ragged last tile costs a whole one: its rows are zero-filled). So a launch takes
 * {@code ceil(tiles / SMs)} waves of one tile's time and the profile's cost per wave, times its factor for a kernel
 * inside a layer, plus the launch cost; a copy moves its bytes in and out of device memory.
 */
final class KernelModel {
    static final int TILE_ROWS = 128;
    private final HardwareProfile profile;
    /** What every kernel priced adds to, or null (a model shared by the threads recording a layer counts nothing). */
    private final RankKernels.Tally tally;

    KernelModel(HardwareProfile profile) {
        this(profile, null);
    }

    /** A model that also counts every kernel it prices into {@code tally} (one rank, recorded on one thread). */
    KernelModel(HardwareProfile profile, RankKernels.Tally tally) {
        this.profile = profile;
        this.tally = tally;
    }

    double attentionSeconds(List<QChunk> q, List<KvChunk> kv) {
        long tiles = 0;
        int dim = q.get(0).q().dim();
        for (QChunk chunk : q) {
            TensorView v = chunk.q();
            tiles += (long) v.batch() * v.heads() * ceilDiv(v.rows(), TILE_ROWS);
        }
        long keyRows = 0;
        for (KvChunk chunk : kv) {
            keyRows += (long) ceilDiv(chunk.k().rows(), TILE_ROWS) * TILE_ROWS;
        }
        return attentionSeconds(tiles, keyRows, dim);
    }

    /** {@code tiles} Q tiles, each against {@code keyRows} (already rounded up to whole KV tiles). */
    double attentionSeconds(long tiles, long keyRows, int dim) {
        int sms = profile.streamingMultiprocessors();
        long waves = waves(tiles, sms);
        if (tally != null) {
            tally.attention(waves, fullWaveFlops(waves, keyRows, dim, sms));
        }
        // one tile's time on one SM, as the pinned times were computed (the same number as fullWaveFlops / rate)
        double tileSeconds = 4.0 * TILE_ROWS * keyRows * dim / (profile.tileFlopsPerSecond(dim) / sms);
        return profile.launchSeconds() + waves * (tileSeconds + profile.waveSeconds()) * profile.attentionLayerFactor();
    }

    /** {@code ceil(tiles / sms)}: a partly empty last wave costs a whole one. */
    static long waves(long tiles, int sms) {
        return (tiles + sms - 1) / sms;
    }

    /** The work of {@code waves} waves at the full-wave rate: every SM runs one Q tile against {@code keyRows} keys. */
    static double fullWaveFlops(long waves, long keyRows, int dim, int sms) {
        return waves * 4.0 * TILE_ROWS * keyRows * dim * sms;
    }

    /** Throws if the profile cannot price attention at head width {@code dim}; counts nothing. */
    void checkWidth(int dim) {
        profile.tileFlopsPerSecond(dim);
    }

    double copySeconds(TensorView src) {
        return trafficSeconds(2.0 * src.elements() * src.base().dtype().bytes());
    }

    /** A memory-bound kernel that reads and writes {@code bytes} in all (fp8 quantize, dequantize). */
    double trafficSeconds(double bytes) {
        if (tally != null) {
            tally.memory(bytes);
        }
        return profile.launchSeconds() + bytes / profile.memoryBytesPerSecond();
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
