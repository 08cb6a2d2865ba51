package org.streamfusion;

/**
 * A shape on a mesh, checked against every rule that involves both: {@code S % N == 0} and
 * {@code H % (t*u) == 0}. A plan is what {@link DistributedAttention} runs.
 */
public record Plan(AttentionShape shape, DeviceMesh mesh) {
    public Plan {
        if (shape == null || mesh == null) {
            throw new InvalidConfigurationException("plan with shape=" + shape + " mesh=" + mesh, "shape and mesh are given");
        }
        shape.localSeqLen(mesh.worldSize());
        int u = mesh.headSplit();
        if (shape.heads() % u != 0) {
            String what = mesh.method() == Method.TORUS_TWO_SIDED || mesh.method() == Method.STREAMFUSION
                    ? "heads H=" + shape.heads() + " is not divisible by the combined Ulysses degree t*u'=" + u
                    : "heads H=" + shape.heads() + " is not divisible by the Ulysses degree u=" + u;
            throw new InvalidConfigurationException(what + " of " + mesh, "H % u == 0");
        }
    }

    public static Plan of(AttentionShape shape, DeviceMesh mesh) {
        return new Plan(shape, mesh);
    }

    public Method method() {
        return mesh.method();
    }

    public int localSeqLen() {
        return shape.seqLen() / mesh.worldSize();
    }

    @Override
    public String toString() {
        return mesh + " for " + shape;
    }
}
