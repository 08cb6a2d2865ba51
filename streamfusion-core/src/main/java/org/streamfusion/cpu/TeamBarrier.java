package org.streamfusion.cpu;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.InvalidStateException;

/** A reusable barrier of a fixed team of the CPU fabric; checks that every member arrives for the same step. */
final class TeamBarrier {
    private final int[] members;
    private long generation;
    private final boolean[] arrived;
    private int count;
    private String step;

    TeamBarrier(int[] members) {
        this.members = members.clone();
        this.arrived = new boolean[members.length];
    }

    /**
     * {@code layerWait}: a barrier of a layer's streams, which a rank that has left the layer (it is freeing
     * its memory) never reaches; host barriers of collective allocation and free are not.
     */
    void arrive(CpuFabric fabric, int rank, String stepName, int timeoutFactor, boolean layerWait) {
        int idx = -1;
        for (int i = 0; i < members.length; i++) {
            if (members[i] == rank) {
                idx = i;
            }
        }
        if (idx < 0) {
            throw new InvalidArgumentException("rank " + rank + " is not a member of team " + Arrays.toString(members));
        }
        long gen;
        synchronized (this) {
            if (count == 0) {
                step = stepName;
            } else if (!step.equals(stepName)) {
                throw new InvalidStateException("barrier mismatch in team " + Arrays.toString(members) + ": rank "
                        + rank + " arrived for '" + stepName + "' while others wait at '" + step + "'");
            }
            gen = generation;
            arrived[idx] = true;
            count++;
            if (count == members.length) {
                generation++;
                count = 0;
                Arrays.fill(arrived, false);
            }
        }
        fabric.signalAll();
        fabric.await(() -> passed(gen), rank, stepName, () -> "barrier of team " + Arrays.toString(members)
                + ": still missing ranks " + missing(gen), timeoutFactor, layerWait ? () -> missingRanks(gen) : null);
    }

    private synchronized boolean passed(long gen) {
        return generation > gen;
    }

    private String missing(long gen) {
        return Arrays.toString(missingRanks(gen));
    }

    private synchronized int[] missingRanks(long gen) {
        if (generation > gen) {
            return new int[0];
        }
        List<Integer> m = new ArrayList<>();
        for (int i = 0; i < members.length; i++) {
            if (!arrived[i]) {
                m.add(members[i]);
            }
        }
        return m.stream().mapToInt(Integer::intValue).toArray();
    }
}
