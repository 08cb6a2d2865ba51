package org.streamfusion.schedule;

import java.util.List;
import org.streamfusion.AttentionShape;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.spi.Fp8Layout;
import org.streamfusion.spi.Kernels;
import org.streamfusion.spi.KvChunk;
import org.streamfusion.spi.QChunk;

/**
 * A schedule's kernels, counting the copies one layer enqueues (host side, as they are enqueued), so that the
 * layer's Flight Recorder event can show them: a method's own packing copies and nothing else, whoever owns
 * the tensors (docs/embedding.md).
 */
final class CountingKernels implements Kernels {
    private final Kernels inner;
    private long copies;
    private long copyElements;

    CountingKernels(Kernels inner) {
        this.inner = inner;
    }

    /** A new layer starts. */
    void reset() {
        copies = 0;
        copyElements = 0;
    }

    long copies() {
        return copies;
    }

    long copyElements() {
        return copyElements;
    }

    @Override
    public void copy(TensorView src, TensorView dst, Stream stream) {
        copies++;
        copyElements += src.elements();
        inner.copy(src, dst, stream);
    }

    @Override
    public void attention(List<QChunk> q, List<KvChunk> kv, double scale, boolean init, boolean finalize, Stream stream) {
        inner.attention(q, kv, scale, init, finalize, stream);
    }

    @Override
    public void checkSupported(AttentionShape shape) {
        inner.checkSupported(shape);
    }

    @Override
    public void finalizeState(QChunk c, Stream stream) {
        inner.finalizeState(c, stream);
    }

    @Override
    public void quantizeFp8(Buffer src, Buffer wire, Fp8Layout layout, Buffer counts, Stream stream) {
        inner.quantizeFp8(src, wire, layout, counts, stream);
    }

    @Override
    public void dequantizeFp8(Buffer wire, Buffer dst, Fp8Layout layout, Stream stream) {
        inner.dequantizeFp8(wire, dst, layout, stream);
    }

    @Override
    public long[] readFp8Counts(Buffer counts) {
        return inner.readFp8Counts(counts);
    }
}
