package org.streamfusion.sim;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntFunction;
import java.util.function.IntUnaryOperator;
import java.util.stream.IntStream;

/**
 * Whether a recorded layer is symmetric under a mesh's rotations ({@link Symmetry}), decided from its ops, not assumed:
 * a rank's streams are the rotated image of its representative's (the same streams, named apart, with the same ops
 * in the same order, peers and barrier members rotated), and every barrier can complete among the representatives.
 */
final class SymmetryCheck {
    /** Records one rank's layer into a list of its own. */
    private final IntFunction<List<SimStream>> recordRank;
    private final RankBlocks blocks;

    SymmetryCheck(IntFunction<List<SimStream>> recordRank, RankBlocks blocks) {
        this.recordRank = recordRank;
        this.blocks = blocks;
    }

    /**
     * The rotations of those axes of {@code all} one step of which carries rank 0 onto a rank whose layer is its
     * image: an axis an all-to-all lists from member 0, or ragged shards, show here after a few ranks.
     */
    Symmetry axesThatHold(Symmetry all) {
        if (all.orbitSize() == 1) {
            return all;
        }
        List<SimStream> zero = recordRank.apply(0);
        boolean[] holds = new boolean[3];
        for (int axis = 0; axis < 3; axis++) {
            int image = all.oneStep(axis);
            holds[axis] = image != 0 && isImage(recordRank.apply(image), zero, all.rotation(0, image));
        }
        return all.onAxes(holds);
    }

    /**
     * Whether the layer is symmetric under {@code symmetry}, given its {@code representatives}' streams: every barrier
     * keeps its members ({@link Symmetry#keepsMembers}), and every other rank, recorded and dropped one at a time,
     * is the image of its representative. Stops at the first rank that differs.
     */
    boolean holds(Symmetry symmetry, List<SimStream> representatives) {
        Map<Integer, List<SimStream>> byRank = new HashMap<>();
        Set<String> teams = new HashSet<>();
        for (SimStream s : representatives) {
            List<SimStream> own = byRank.computeIfAbsent(s.rank, r -> new ArrayList<>());
            // Streams pair by position and waits name their targets: names must tell a rank's streams apart.
            if (own.stream().anyMatch(o -> o.name().equals(s.name()))) {
                return false;
            }
            own.add(s);
            for (int i = 0; i < s.size(); i++) {
                if (s.kind(i) == Op.Kind.BARRIER) {
                    Op.Barrier b = s.barrier(i);
                    String team = b.barrierKey().substring(0, b.barrierKey().lastIndexOf('#'));
                    if (teams.add(team) && !symmetry.keepsMembers(b.members())) {
                        return false;
                    }
                }
            }
        }
        AtomicBoolean differs = new AtomicBoolean();
        int[] others = IntStream.range(0, symmetry.worldSize()).filter(r -> !symmetry.isRepresentative(r)).toArray();
        blocks.run("checking the symmetry of a layer", others, new ArrayList<>(), (rank, unused) -> {
            if (differs.get()) {
                return;
            }
            int representative = symmetry.representative(rank);
            if (!isImage(recordRank.apply(rank), byRank.get(representative), symmetry.rotation(representative, rank))) {
                differs.set(true);
            }
        });
        return !differs.get();
    }

    /** Whether a rank's streams are {@code original}'s, in order, under {@code rotation}. */
    static boolean isImage(List<SimStream> mine, List<SimStream> original, IntUnaryOperator rotation) {
        if (mine.size() != original.size()) {
            return false;
        }
        for (int i = 0; i < mine.size(); i++) {
            if (!mine.get(i).isImageOf(original.get(i), rotation)) {
                return false;
            }
        }
        return true;
    }
}
