package org.streamfusion;

/** {@code M} machines of {@code G} GPUs each; global rank {@code g = machine*G + local}. */
public record Topology(int machines, int gpusPerMachine) {
    public Topology {
        InvalidConfigurationException.positive("machines M", machines);
        InvalidConfigurationException.positive("GPUs per machine G", gpusPerMachine);
        if ((long) machines * gpusPerMachine > Integer.MAX_VALUE) {
            throw new InvalidConfigurationException("world size N = M*G = " + machines + "*" + gpusPerMachine + " = "
                    + (long) machines * gpusPerMachine + " does not fit an int", "M*G <= 2^31-1");
        }
    }

    public static Topology of(int machines, int gpusPerMachine) {
        return new Topology(machines, gpusPerMachine);
    }

    /** {@code N = M*G}. */
    public int worldSize() {
        return machines * gpusPerMachine;
    }

    public int machineOf(int rank) {
        if (rank < 0 || rank >= worldSize()) {
            throw new InvalidConfigurationException("rank " + rank + " is outside the world of " + worldSize(),
                    "0 <= rank < N");
        }
        return rank / gpusPerMachine;
    }

    public LinkClass linkBetween(int from, int to) {
        if (from == to) {
            return LinkClass.SELF;
        }
        return machineOf(from) == machineOf(to) ? LinkClass.INTRA_MACHINE : LinkClass.INTER_MACHINE;
    }

    @Override
    public String toString() {
        return machines + "x" + gpusPerMachine;
    }
}
