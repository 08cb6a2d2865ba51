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
     * Writes {@code src} (contiguous, {@code layout.elements()} elements) to {@code wire} in the centred e4m3
     * wire of {@link Fp8Layout}: each channel centred on its mean over the chunk's tokens, the centres beside
     * the codes, and a block over {@link Fp8Layout#LOGIT_ERROR_LIMIT} in bf16 while a slot is free. Adds the
     * blocks sent in bf16 to {@code counts}' first int64 and those over the limit left in e4m3 to its second
     * ({@code counts}: 2 F64 elements holding int64 bits, read by {@link #readFp8Counts}).
     */
    void quantizeFp8(Buffer src, Buffer wire, Fp8Layout layout, Buffer counts, Stream stream);

    /** The reverse of {@link #quantizeFp8}: {@code layout.elements()} elements into {@code dst}. */
    void dequantizeFp8(Buffer wire, Buffer dst, Fp8Layout layout, Stream stream);

    /**
     * The two counters of {@link #quantizeFp8}, read on the host once the streams that add to them are
     * synchronized by the caller; {@code {0, 0}} where a backend moves no data.
     */
    long[] readFp8Counts(Buffer counts);
}
