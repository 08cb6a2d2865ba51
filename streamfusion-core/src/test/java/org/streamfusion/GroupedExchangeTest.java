package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.TensorView;
import org.streamfusion.cpu.CpuBuffer;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cpu.ShardedAttention;
import org.streamfusion.planning.Planner;

/**
 * Q, K and V in one grouped exchange ({@link QkvExchange#GROUPED}) is only a different way to move the same
 * bytes: on every mesh of every two-sided method, grouped and separate exchanges give bit-identical outputs,
 * both equal float64 attention, and grouping issues exactly two exchanges fewer per layer per rank where
 * a Ulysses step exists (none fewer where it does not, or for the one-sided STREAMFUSION).
 */
class GroupedExchangeTest {
    private static final double TOLERANCE = 1e-5;
    private static final int[][] TOPOLOGIES = {{1, 2}, {2, 1}, {2, 2}, {1, 4}, {2, 3}};

    static Stream<Arguments> meshes() {
        List<Arguments> cases = new ArrayList<>();
        for (int[] mg : TOPOLOGIES) {
            Topology topology = Topology.of(mg[0], mg[1]);
            // S = 2N + 1: ragged shards, so the packed chunks carry padding rows.
            AttentionShape shape = AttentionShape.of(2, 2 * topology.worldSize() + 1, 12, 16);
            for (Planner.Candidate c : Planner.withDefaults().enumerate(shape, topology)) {
                if (c.valid()) {
                    cases.add(Arguments.of(c.plan()));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("meshes")
    void groupingQkvChangesNoBitOfTheOutputAndSavesTwoExchangesPerRankWhereAUlyssesStepExists(Plan plan) {
        AttentionShape s = plan.shape();
        long seed = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(seed);
        float[][] qkv = new float[3][Math.toIntExact((long) s.batch() * s.seqLen() * s.heads() * s.headDim())];
        for (float[] x : qkv) {
            for (int i = 0; i < x.length; i++) {
                // A few large logits among ordinary ones: the softmax's running maximum moves.
                x[i] = (float) (rnd.nextGaussian() * (rnd.nextInt(50) == 0 ? 8 : 1));
            }
        }
        String name = plan + " (seed " + seed + ")";
        Layer grouped = run(plan.withQkvExchange(QkvExchange.GROUPED), qkv);
        Layer separate = run(plan.withQkvExchange(QkvExchange.SEPARATE), qkv);
        // These shards are tiny: the default groups them.
        assertEquals(run(plan, qkv).exchanges, grouped.exchanges, name + ": AUTO groups a small layer");
        assertArrayEquals(separate.output, grouped.output, name + ": grouped output differs from separate");
        double[] ref = ReferenceAttention.attention(qkv[0], qkv[1], qkv[2], s.batch(), s.seqLen(), s.heads(),
                s.headDim(), s.softmaxScale());
        double err = ReferenceAttention.relativeError(grouped.output, ref);
        assertTrue(err <= TOLERANCE, name + ": error " + err + " against float64 attention");
        // Per rank: the Ulysses methods' Q, K, V all-to-all where u > 1; TORUS_TWO_SIDED's step 1 always.
        int savedPerRank = switch (plan.method()) {
            case TORUS_TWO_SIDED -> 2;
            case STREAMFUSION -> 0;
            default -> plan.mesh().ulysses() > 1 ? 2 : 0;
        };
        assertEquals(separate.exchanges - savedPerRank * plan.mesh().worldSize(), grouped.exchanges,
                name + ": exchanges per layer over all ranks, grouped vs separate " + separate.exchanges);
    }

    @Test
    void autoGroupsUpTo64MibPerShardSoFlux4096GroupsFromEightGpusOn() {
        assertTrue(QkvExchange.AUTO.groups(QkvExchange.AUTO_LIMIT_BYTES), "exactly the limit groups");
        assertFalse(QkvExchange.AUTO.groups(QkvExchange.AUTO_LIMIT_BYTES + 1), "a byte more does not");
        assertTrue(QkvExchange.GROUPED.groups(Long.MAX_VALUE), "GROUPED always groups");
        assertFalse(QkvExchange.SEPARATE.groups(1), "SEPARATE never does");
        // ULYSSES(u=N): bf16 shards [1, ceil(S/N), 24, 128].
        assertTrue(ulysses(4608, 2).groupsQkv(DType.BF16), "Flux 1024x1024 on 2 GPUs: 14 MB shards");
        assertTrue(ulysses(16896, 2).groupsQkv(DType.BF16), "Flux 2048x2048 on 2 GPUs: 51.9 MB shards");
        assertFalse(ulysses(65536, 4).groupsQkv(DType.BF16), "Flux 4096x4096 on 4 GPUs: 101 MB shards");
        assertTrue(ulysses(65536, 8).groupsQkv(DType.BF16), "Flux 4096x4096 on 8 GPUs: 50.3 MB shards");
        // By bytes alone the limit falls between 6 and 7 GPUs; with H=24 only TORUS_TWO_SIDED has an exchange on 7.
        assertFalse(torusTwoSided(65536, 6).groupsQkv(DType.BF16), "on 6 GPUs: 2 KiB over the limit");
        assertTrue(torusTwoSided(65536, 7).groupsQkv(DType.BF16), "on 7 GPUs: 57.5 MB shards");
        assertFalse(ulysses(16896, 2).groupsQkv(DType.F32), "the storage type counts: f32 shards hold 104 MB");
        assertFalse(ulysses(4608, 2).withQkvExchange(QkvExchange.SEPARATE).groupsQkv(DType.BF16), "SEPARATE");
    }

    @Test
    void onlyTwoSidedUlyssesStepsHaveAQkvExchangeToGroup() {
        Topology topology = Topology.of(1, 2);
        for (Planner.Candidate c : Planner.withDefaults().enumerate(AttentionShape.of(1, 4608, 24, 128), topology)) {
            if (!c.valid()) {
                continue;
            }
            boolean expected = switch (c.method()) {
                case STREAMFUSION -> false; // one-sided puts: nothing to group
                case TORUS_TWO_SIDED -> true; // step 1 is an exchange even with u' = 1
                default -> c.u() > 1;
            };
            assertEquals(expected, c.plan().exchangesQkv(), c.plan().toString());
            assertEquals(expected, c.plan().groupsQkv(DType.BF16), c.plan() + ": small shards group where they can");
        }
    }

    @Test
    void aPlanWithoutAQkvExchangeIsRefusedNamingIt() {
        Plan plan = ulysses(64, 2);
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class,
                () -> plan.withQkvExchange(null));
        assertTrue(e.getMessage().contains("qkvExchange=null"), e.getMessage());
        assertTrue(plan.withQkvExchange(QkvExchange.SEPARATE).toString().endsWith("Q,K,V exchange SEPARATE"),
                "a plan says when it overrides the rule");
    }

    private static Plan torusTwoSided(int seqLen, int gpus) {
        return Planner.withDefaults().best(AttentionShape.of(1, seqLen, 24, 128), Topology.of(1, gpus),
                Method.TORUS_TWO_SIDED);
    }

    private static Plan ulysses(int seqLen, int gpus) {
        return Planner.withDefaults().best(AttentionShape.of(1, seqLen, 24, 128), Topology.of(1, gpus), Method.ULYSSES);
    }

    private record Layer(float[] output, int exchanges) {
    }

    /** One layer on every rank of a fresh CPU world; exchanges counted on every rank. */
    private static Layer run(Plan plan, float[][] qkv) {
        AttentionShape s = plan.shape();
        int n = plan.mesh().worldSize();
        float[] out = new float[qkv[0].length];
        AtomicInteger exchanges = new AtomicInteger();
        try (CpuWorld world = CpuWorld.create(plan.mesh().topology())) {
            List<float[]> parts = world.run(cpu -> {
                ForwardingCommunicator counting = new ForwardingCommunicator(cpu.communicator()) {
                    @Override
                    public void exchange(List<Transfer> sends, List<Transfer> recvs,
                            org.streamfusion.backend.Stream stream, String step) {
                        exchanges.incrementAndGet();
                        super.exchange(sends, recvs, stream, step);
                    }
                };
                int rows = plan.shardRows(cpu.rank());
                try (DeviceArena io = cpu.newArena();
                        DistributedAttention attn = DistributedAttention.create(plan, counting.on(cpu))) {
                    TensorView[] x = new TensorView[4];
                    for (int i = 0; i < 4; i++) {
                        Buffer b = io.allocate((long) s.batch() * rows * s.heads() * s.headDim(), DType.F32);
                        if (i < 3) {
                            ((CpuBuffer) b).write(ShardedAttention.shard(qkv[i], plan, cpu.rank()));
                        }
                        x[i] = TensorView.contiguous(b, s.batch(), rows, s.heads(), s.headDim());
                    }
                    attn.forward(x[0], x[1], x[2], x[3]);
                    attn.stream().synchronize("grouped exchange test, rank " + cpu.rank());
                    return ((CpuBuffer) x[3].base()).read();
                }
            });
            for (int g = 0; g < n; g++) {
                ShardedAttention.unshard(parts.get(g), out, s, n, g);
            }
        }
        return new Layer(out, exchanges.get());
    }
}
