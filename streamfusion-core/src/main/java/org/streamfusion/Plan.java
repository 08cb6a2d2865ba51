package org.streamfusion;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A shape on a mesh, checked against every rule that involves both: {@code S >= N} and
 * {@code H % (t*u) == 0}. A plan is what {@link DistributedAttention} runs.
 *
 * <p>Any {@code S >= N} runs: rank {@code g} holds {@link #shardRows(int) shardRows(g)} consecutive tokens,
 * starting at {@link #shardStart(int) shardStart(g)}. By default the split is as even as possible (the first
 * {@code S mod N} ranks one row longer); {@link #withShardRows} takes the caller's own. Inside the layer every
 * chunk travels padded to the longest shard's rows and the kernels read only its real rows
 * (docs/algorithms.md, section 3.6).
 *
 * @param shape        the attention problem; {@code S >= N}, {@code H % (t*u) == 0}
 * @param mesh         the method and how its ranks are arranged
 * @param interMachine what the transfers between machines carry; {@link LinkCompression#NONE} unless
 *                     asked for with {@link #withInterMachine}
 * @param shardRows    each rank's rows, or empty for the default split
 * @param jointTextRows {@code S_text} of a joint text segment every rank holds whole ({@link JointText}), or 0
 * @param qkvExchange  how Q, K and V cross a two-sided Ulysses step; {@link QkvExchange#AUTO} unless asked for
 *                     with {@link #withQkvExchange}
 */
public record Plan(AttentionShape shape, DeviceMesh mesh, LinkCompression interMachine, List<Integer> shardRows,
        int jointTextRows, QkvExchange qkvExchange) {
    /**
     * Checks the shape against the mesh and copies {@code shardRows}.
     *
     * @throws InvalidConfigurationException if a component is null, {@code jointTextRows < 0},
     *         {@code S < N}, the shard rows are not one per rank, each at least 1, summing to {@code S},
     *         {@code H % (t*u) != 0}, or STREAMFUSION would compress a mesh whose Ulysses or ring groups
     *         span machines
     */
    public Plan {
        if (jointTextRows < 0) {
            throw new InvalidConfigurationException("joint text rows S_text=" + jointTextRows, "S_text >= 0 (0: none)");
        }
        if (shape == null || mesh == null || interMachine == null || shardRows == null || qkvExchange == null) {
            throw new InvalidConfigurationException("plan with shape=" + shape + " mesh=" + mesh + " interMachine="
                    + interMachine + " shardRows=" + shardRows + " qkvExchange=" + qkvExchange, "shape, mesh,"
                    + " inter-machine compression, shard rows and Q,K,V exchange are given");
        }
        shape.localSeqLen(mesh.worldSize());
        shardRows = List.copyOf(shardRows);
        checkShardRows(shape, mesh.worldSize(), shardRows);
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

    private static void checkShardRows(AttentionShape shape, int n, List<Integer> rows) {
        if (rows.isEmpty()) {
            return;
        }
        if (rows.size() != n) {
            throw new InvalidConfigurationException(rows.size() + " shard lengths " + rows + " for N=" + n + " GPUs",
                    "one shard length per GPU");
        }
        long sum = 0;
        for (int g = 0; g < n; g++) {
            if (rows.get(g) < 1) {
                throw new InvalidConfigurationException("shard of rank " + g + " has " + rows.get(g) + " rows",
                        "every GPU holds at least one token");
            }
            sum += rows.get(g);
        }
        if (sum != shape.seqLen()) {
            throw new InvalidConfigurationException("shard lengths " + rows + " sum to " + sum + ", not S=" + shape.seqLen(),
                    "the shard lengths sum to S");
        }
    }

    /**
     * An exact plan with the default split: nothing compressed, no joint text, {@link QkvExchange#AUTO}.
     *
     * @param shape the attention problem; {@code S >= N}, {@code H % (t*u) == 0}
     * @param mesh  the method and how its ranks are arranged
     * @return the plan
     * @throws InvalidConfigurationException if the shape breaks one of those rules on the mesh
     */
    public static Plan of(AttentionShape shape, DeviceMesh mesh) {
        return new Plan(shape, mesh, LinkCompression.NONE, List.of(), 0, QkvExchange.AUTO);
    }

    /**
     * The same plan with the transfers between machines carrying {@code compression}.
     *
     * @param compression what the transfers between machines carry
     * @return the plan with {@code compression}
     * @throws InvalidConfigurationException if STREAMFUSION would compress a mesh whose Ulysses or ring
     *         groups span machines
     */
    public Plan withInterMachine(LinkCompression compression) {
        return new Plan(shape, mesh, compression, shardRows, jointTextRows, qkvExchange);
    }

    /**
     * The same plan with rank {@code g} holding {@code rows[g]} consecutive tokens (each at least 1,
     * summing to S).
     *
     * @param rows tokens per rank, one entry per rank; none for the default split
     * @return the plan with that split
     * @throws InvalidConfigurationException if {@code rows} breaks those rules
     */
    public Plan withShardRows(int... rows) {
        List<Integer> list = new ArrayList<>(rows.length);
        for (int r : rows) {
            list.add(r);
        }
        return new Plan(shape, mesh, interMachine, list, jointTextRows, qkvExchange);
    }

    /**
     * The same plan with a joint segment of {@code textRows} text tokens held whole by every rank, passed to
     * {@link DistributedAttention#forward(org.streamfusion.backend.TensorView, org.streamfusion.backend.TensorView,
     * org.streamfusion.backend.TensorView, org.streamfusion.backend.TensorView, JointText)}.
     *
     * @param textRows {@code S_text}, at least 1
     * @return the plan with the segment
     * @throws InvalidConfigurationException if {@code textRows < 1}
     */
    public Plan withJointText(int textRows) {
        if (textRows < 1) {
            throw new InvalidConfigurationException("joint text rows S_text=" + textRows, "S_text >= 1");
        }
        return new Plan(shape, mesh, interMachine, shardRows, textRows, qkvExchange);
    }

    /**
     * The same plan with Q, K and V crossing its two-sided Ulysses step as {@code exchange} says: grouped
     * (fewer fixed costs, more memory) or separate. The result is the same bit for bit.
     *
     * @param exchange how Q, K and V cross
     * @return the plan with {@code exchange}
     * @throws InvalidConfigurationException if {@code exchange} is null
     */
    public Plan withQkvExchange(QkvExchange exchange) {
        return new Plan(shape, mesh, interMachine, shardRows, jointTextRows, exchange);
    }

    /**
     * Whether this plan's layer sends Q, K and V through a two-sided exchange, which {@link QkvExchange} may
     * group: ULYSSES, USP and TAS with {@code u > 1} (their all-to-all) and TORUS_TWO_SIDED (step 1, even with
     * {@code u' = 1}). STREAMFUSION's one-sided ScatterPushes and the {@code u = 1} meshes have none.
     *
     * @return {@code true} if there is such an exchange
     */
    public boolean exchangesQkv() {
        return switch (mesh.method()) {
            case TORUS_TWO_SIDED -> true;
            case STREAMFUSION -> false;
            case ULYSSES, RING, USP, TAS -> mesh.ulysses() > 1;
        };
    }

    /**
     * Whether this plan's layer on {@code storage} sends Q, K and V in one grouped exchange: it has one
     * ({@link #exchangesQkv()}) and {@link QkvExchange#groups} says so for its shard's bytes
     * ({@code B * localSeqLen() * H * D} elements of {@code storage}).
     *
     * @param storage the element type the layer stores its shards in
     * @return {@code true} to group
     */
    public boolean groupsQkv(DType storage) {
        return exchangesQkv() && qkvExchange.groups((long) shape.batch() * localSeqLen() * shape.heads()
                * shape.headDim() * storage.bytes());
    }

    /**
     * Rows of rank {@code rank}'s shard.
     *
     * @param rank global rank, {@code 0 <= rank < N}
     * @return its tokens, at least 1
     * @throws InvalidConfigurationException if {@code rank} is outside {@code [0, N)}
     */
    public int shardRows(int rank) {
        int n = mesh.worldSize();
        if (rank < 0 || rank >= n) {
            throw new InvalidConfigurationException("rank " + rank + " outside the world of " + n, "0 <= rank < N");
        }
        return shardRows.isEmpty() ? shape.shardRows(n, rank) : shardRows.get(rank);
    }

    /**
     * The first token of rank {@code rank}'s shard in the whole sequence.
     *
     * @param rank global rank, {@code 0 <= rank < N}
     * @return the index of its first token, {@code 0 <= start < S}
     * @throws InvalidConfigurationException if {@code rank} is outside {@code [0, N)}, with either split
     */
    public int shardStart(int rank) {
        shardRows(rank); // the caller's split must refuse a rank outside [0, N) as the default one does
        if (shardRows.isEmpty()) {
            return shape.shardStart(mesh.worldSize(), rank);
        }
        int start = 0;
        for (int g = 0; g < rank; g++) {
            start += shardRows(g);
        }
        return start;
    }

    /** {@return the mesh's method} */
    public Method method() {
        return mesh.method();
    }

    /**
     * Rows of the longest shard: every chunk the layer moves is padded to it. {@code S/N} when N divides S
     * and the split is the default.
     *
     * @return the longest shard's rows
     */
    public int localSeqLen() {
        if (shardRows.isEmpty()) {
            return shape.localSeqLen(mesh.worldSize());
        }
        return Collections.max(shardRows);
    }

    @Override
    public String toString() {
        return mesh + " for " + shape + (interMachine == LinkCompression.NONE ? "" : ", inter-machine " + interMachine)
                + (shardRows.isEmpty() ? "" : ", shard rows " + shardRows)
                + (jointTextRows == 0 ? "" : ", joint text S_text=" + jointTextRows)
                + (qkvExchange == QkvExchange.AUTO ? "" : ", Q,K,V exchange " + qkvExchange);
    }
}
