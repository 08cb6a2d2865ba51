package org.streamfusion.spi;

import java.util.List;
import org.streamfusion.AttentionShape;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;

/** The device kernels a schedule launches. */
public interface Kernels {
    /**
     * The fused multi-Q/multi-KV attention (docs/algorithms.md, section 2): folds every KV chunk into the state of
     * every Q chunk. With {@code init} the carried state is ignored (m = -inf, l = 0, o = 0); with
     * {@code finalize} each chunk's {@code out} receives {@code o/l}.
     */
    void attention(List<QChunk> q, List<KvChunk> kv, double scale, boolean init, boolean finalize, Stream stream);

    /**
     * Throws an {@link org.streamfusion.InvalidConfigurationException} if these kernels cannot run
     * {@code shape} (head width, element type). Called before any collective setup.
     */
    default void checkSupported(AttentionShape shape) {
    }

    /**
     * Writes {@code c.out() = o/l} from {@code c.state()} (0 where {@code l == 0}, a fully masked row; NaN stays
     * NaN): the finalisation of {@link #attention} as a launch of its own, for states folded in several parts.
     */
    void finalizeState(QChunk c, Stream stream);

    /** Copies a view into another of the same shape (head-slice pack and unpack). */
    void copy(TensorView src, TensorView dst, Stream stream);

    /**
     * Writes {@code src} (contiguous, {@code src.length()} elements) to {@code wire} in the e4m3 wire format
     * of {@link Fp8Wire}, one scale per {@code block} consecutive elements.
     */
    void quantizeFp8(Buffer src, Buffer wire, int block,
            Stream stream);

    /** The reverse of {@link #quantizeFp8}: {@code dst.length()} elements from {@code wire}. */
    void dequantizeFp8(Buffer wire, Buffer dst, int block,
            Stream stream);
}
