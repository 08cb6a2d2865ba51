package org.streamfusion.gpu;

import org.streamfusion.backend.TensorView;
import org.streamfusion.cuda.ManagedTensor;

/**
 * Another framework's DLPack tensor, wrapped by {@link DLPack#wrap}: a view of its memory that this object owns.
 * {@link #close} calls the producer's deleter exactly once (a second close does nothing); the view must not be
 * used after it, nor while a layer that uses it can still run.
 */
public final class DLPackTensor implements AutoCloseable {
    private final TensorView view;
    private final ManagedTensor tensor;

    DLPackTensor(TensorView view, ManagedTensor tensor) {
        this.view = view;
        this.tensor = tensor;
    }

    /** {@return the tensor as a view of the rank it was wrapped for} */
    public TensorView view() {
        return view;
    }

    /** Hands the tensor back to its producer: its deleter, once. */
    @Override
    public void close() {
        tensor.close();
    }
}
