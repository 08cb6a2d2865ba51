package org.streamfusion.schedule;

import java.util.Objects;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.JointText;
import org.streamfusion.Plan;
import org.streamfusion.WrongBackendException;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.RankDevice;
import org.streamfusion.backend.TensorView;
import org.streamfusion.spi.RankBackend;

/**
 * Every argument rule of the public entry points in one place: the plan against the device when a layer
 * is built ({@link #layer}), and the tensors of each {@code forward} ({@link #forward}), all checked before
 * anything is allocated or enqueued.
 */
final class CallChecks {
    private CallChecks() {
    }

    /** The plan against the device, when a layer is built: the device's backend, whose kernels run the shape. */
    static RankBackend layer(Plan plan, RankDevice device) {
        Objects.requireNonNull(plan, "plan");
        Objects.requireNonNull(device, "device");
        if (plan.mesh().worldSize() != device.topology().worldSize()) {
            throw new InvalidConfigurationException("mesh of " + plan.mesh().worldSize() + " GPUs (" + plan.mesh()
                    + ") on a world of size " + device.topology().worldSize(), "mesh size == world size");
        }
        if (!plan.mesh().topology().equals(device.topology())) {
            throw new InvalidConfigurationException("mesh topology " + plan.mesh().topology()
                    + " differs from the device topology " + device.topology(), "mesh topology == world topology");
        }
        RankBackend backend = switch (device) {
            case RankBackend b -> b;
        };
        backend.kernels().checkSupported(plan.shape());
        return backend;
    }

    /** Every argument rule of one {@code forward}, before anything is enqueued: a refused call leaves the layer usable. */
    static void forward(Plan plan, RankBackend device, TensorView q, TensorView k, TensorView v, TensorView o,
            JointText text) {
        shards(plan, device.rank(), q, k, v, o);
        jointText(plan, text, q, k, v, o);
        String[] names = {"q", "k", "v", "o", "text q", "text k", "text v", "text o"};
        TensorView[] views = text == null ? new TensorView[] {q, k, v, o}
                : new TensorView[] {q, k, v, o, text.q(), text.k(), text.v(), text.o()};
        DType stored = device.storageType(plan.shape().dtype());
        for (int i = 0; i < views.length; i++) {
            Buffer b = views[i].base();
            if (!device.bufferType().isInstance(b)) {
                throw new WrongBackendException(names[i], b, device.bufferType());
            }
            if (b.dtype() != stored) {
                throw new InvalidConfigurationException(names[i] + " holds " + b.dtype() + " but the plan's " + plan.shape()
                        .dtype() + " is stored as " + stored + " on this backend", "every tensor has the plan's element type");
            }
        }
    }

    /**
     * Checks that {@code text} is given exactly when the plan has a joint segment, that its tensors are
     * {@code [B, S_text, H, D]}, and that no output shares memory with an input.
     */
    private static void jointText(Plan plan, JointText text, TensorView q, TensorView k, TensorView v, TensorView o) {
        if (plan.jointTextRows() == 0) {
            if (text != null) {
                throw new InvalidConfigurationException("a joint text segment for " + plan,
                        "a joint segment needs a plan with one (Plan.withJointText)");
            }
            return;
        }
        if (text == null) {
            throw new InvalidConfigurationException(plan + " without its text segment",
                    "a plan with a joint segment runs with forward(q, k, v, o, JointText)");
        }
        AttentionShape s = plan.shape();
        TensorView[] views = {text.q(), text.k(), text.v(), text.o()};
        String[] names = {"text q", "text k", "text v", "text o"};
        for (int i = 0; i < 4; i++) {
            TensorView x = views[i];
            if (x.batch() != s.batch() || x.rows() != plan.jointTextRows() || x.heads() != s.heads()
                    || x.dim() != s.headDim()) {
                throw new InvalidConfigurationException(names[i] + " has shape " + x.shapeString() + " but the plan needs ["
                        + s.batch() + ", " + plan.jointTextRows() + ", " + s.heads() + ", " + s.headDim() + "]",
                        "the text segment's tensors are [B, S_text, H, D]");
            }
        }
        TensorView[] imageInputs = {q, k, v};
        for (int i = 0; i < 3; i++) {
            if (text.o().base().overlaps(views[i].base()) || o.base().overlaps(views[i].base())) {
                throw new InvalidConfigurationException("an output (o or text o) overlaps " + names[i] + " ("
                        + views[i].base() + ")",
                        "the outputs share no memory with the inputs");
            }
            if (text.o().base().overlaps(imageInputs[i].base())) {
                throw new InvalidConfigurationException("text o overlaps " + "qkv".charAt(i),
                        "the outputs share no memory with the inputs");
            }
        }
        if (text.o().base().overlaps(o.base())) {
            throw new InvalidConfigurationException("text o overlaps o", "the outputs share no memory with each other");
        }
    }

    /**
     * Checks that q, k, v and o all have rank {@code rank}'s shard shape {@code [B, shardRows(rank), H, D]} and
     * that o shares no memory with q, k or v (the layer reads its inputs after it starts writing o).
     *
     * @param plan the plan the shards are of
     * @param rank the global rank that holds them, {@code 0 <= rank < N}
     * @param q    query shard
     * @param k    key shard
     * @param v    value shard
     * @param o    output shard
     * @throws InvalidConfigurationException if a tensor is null or misshapen, or o overlaps q, k or v
     */
    static void shards(Plan plan, int rank, TensorView q, TensorView k, TensorView v, TensorView o) {
        shard("q", q, plan, rank);
        shard("k", k, plan, rank);
        shard("v", v, plan, rank);
        shard("o", o, plan, rank);
        TensorView[] inputs = {q, k, v};
        String[] names = {"q", "k", "v"};
        for (int i = 0; i < 3; i++) {
            if (o.base().overlaps(inputs[i].base())) {
                throw new InvalidConfigurationException("o (" + o.base() + ") overlaps " + names[i] + " ("
                        + inputs[i].base() + ")", "the output shares no memory with q, k or v");
            }
        }
    }

    private static void shard(String name, TensorView x, Plan plan, int rank) {
        AttentionShape s = plan.shape();
        int sl = plan.shardRows(rank);
        if (x == null) {
            throw new InvalidConfigurationException(name + "=null", name + " is a [B, shardRows(rank), H, D] tensor");
        }
        if (x.batch() != s.batch() || x.rows() != sl || x.heads() != s.heads() || x.dim() != s.headDim()) {
            throw new InvalidConfigurationException(name + " has shape " + x.shapeString() + " but the plan needs ["
                    + s.batch() + ", " + sl + ", " + s.heads() + ", " + s.headDim() + "] on rank " + rank,
                    "q, k, v and o are [B, shardRows(rank), H, D] shards of the plan's shape");
        }
    }
}
