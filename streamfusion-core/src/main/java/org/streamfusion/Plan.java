package org.streamfusion;

/**
 * A shape on a mesh, checked against every rule that involves both: {@code S % N == 0} and
 * {@code H % (t*u) == 0}. A plan is what {@link DistributedAttention} runs.
 *
 * @param interMachine what the transfers between machines carry; {@link LinkCompression#NONE} unless
 *                     asked for with {@link #withInterMachine}
 */
public record Plan(AttentionShape shape, DeviceMesh mesh, LinkCompression interMachine) {
    public Plan {
        if (shape == null || mesh == null || interMachine == null) {
            throw new InvalidConfigurationException("plan with shape=" + shape + " mesh=" + mesh + " interMachine="
                    + interMachine, "shape, mesh and inter-machine compression are given");
        }
        shape.localSeqLen(mesh.worldSize());
        int u = mesh.headSplit();
        if (shape.heads() % u != 0) {
            String what = mesh.method() == Method.TORUS_TWO_SIDED || mesh.method() == Method.STREAMFUSION
                    ? "heads H=" + shape.heads() + " is not divisible by the combined Ulysses degree t*u'=" + u
                    : "heads H=" + shape.heads() + " is not divisible by the Ulysses degree u=" + u;
            throw new InvalidConfigurationException(what + " of " + mesh, "H % u == 0");
        }
        if (interMachine != LinkCompression.NONE && mesh.method() == Method.STREAMFUSION) {
            checkTorusCarriesEveryCrossing(mesh, interMachine);
        }
    }

    /**
     * STREAMFUSION compresses its torus transfers only (docs/algorithms.md, section 7); its intra-machine
     * Ulysses groups and rings must then lie inside machines, or some machine-crossing bytes would travel
     * uncompressed.
     */
    private static void checkTorusCarriesEveryCrossing(DeviceMesh mesh, LinkCompression compression) {
        Topology topology = mesh.topology();
        for (int rank = 0; rank < mesh.worldSize(); rank++) {
            for (ProcessGroup g : new ProcessGroup[] {mesh.ulyssesGroup(rank), mesh.ringGroup(rank)}) {
                for (int member : g.ranks()) {
                    if (topology.machineOf(member) != topology.machineOf(rank)) {
                        throw new InvalidConfigurationException(compression + " on " + mesh + ": group " + g
                                + " of rank " + rank + " spans machines, and STREAMFUSION compresses only its torus"
                                + " transfers", "with inter-machine compression, STREAMFUSION's u' and r groups lie"
                                + " inside machines (t = M), or use TORUS_TWO_SIDED");
                    }
                }
            }
        }
    }

    /** An exact plan: nothing compressed. */
    public Plan(AttentionShape shape, DeviceMesh mesh) {
        this(shape, mesh, LinkCompression.NONE);
    }

    public static Plan of(AttentionShape shape, DeviceMesh mesh) {
        return new Plan(shape, mesh);
    }

    /** The same plan with the transfers between machines carrying {@code compression}. */
    public Plan withInterMachine(LinkCompression compression) {
        return new Plan(shape, mesh, compression);
    }

    public Method method() {
        return mesh.method();
    }

    public int localSeqLen() {
        return shape.seqLen() / mesh.worldSize();
    }

    @Override
    public String toString() {
        return mesh + " for " + shape + (interMachine == LinkCompression.NONE ? "" : ", inter-machine " + interMachine);
    }
}
