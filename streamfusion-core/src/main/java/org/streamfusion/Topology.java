package org.streamfusion;

import java.util.Locale;

/**
 * {@code M} machines of {@code G} GPUs each; global rank {@code g = machine*G + local}.
 *
 * @param machines       machines {@code M}, at least 1
 * @param gpusPerMachine GPUs {@code G} of each machine, at least 1; {@code M*G} fits an int
 */
public record Topology(int machines, int gpusPerMachine) {
    /**
     * Checks the sizes.
     *
     * @throws InvalidConfigurationException if a size is not positive or {@code M*G} overflows an int
     */
    public Topology {
        InvalidConfigurationException.positive("machines M", machines);
        InvalidConfigurationException.positive("GPUs per machine G", gpusPerMachine);
        if ((long) machines * gpusPerMachine > Integer.MAX_VALUE) {
            throw new InvalidConfigurationException("world size N = M*G = " + machines + "*" + gpusPerMachine + " = "
                    + (long) machines * gpusPerMachine + " does not fit an int", "M*G <= 2^31-1");
        }
    }

    /**
     * {@code machines} machines of {@code gpusPerMachine} GPUs each.
     *
     * @param machines       machines {@code M}, at least 1
     * @param gpusPerMachine GPUs {@code G} of each machine, at least 1
     * @return the topology
     * @throws InvalidConfigurationException if a size is not positive or {@code M*G} overflows an int
     */
    public static Topology of(int machines, int gpusPerMachine) {
        return new Topology(machines, gpusPerMachine);
    }

    /**
     * The topology a command line or a config names as {@code MxG} (e.g. {@code 2x4}: 2 machines of 4 GPUs).
     *
     * @param mxg {@code M} and {@code G} as whole numbers joined by {@code x} (either case, spaces around allowed)
     * @return the topology
     * @throws InvalidConfigurationException if {@code mxg} is not of that form or a size is not positive
     */
    public static Topology parse(String mxg) {
        String rule = "a topology is MxG, M machines of G GPUs, e.g. 2x4";
        if (mxg == null) {
            throw new InvalidConfigurationException("topology null", rule);
        }
        String[] mg = mxg.trim().toLowerCase(Locale.ROOT).split("x", -1);
        try {
            if (mg.length == 2) {
                return of(Integer.parseInt(mg[0].trim()), Integer.parseInt(mg[1].trim()));
            }
        } catch (NumberFormatException e) {
            throw new InvalidConfigurationException("topology '" + mxg + "'", rule, e);
        }
        throw new InvalidConfigurationException("topology '" + mxg + "'", rule);
    }

    /** {@return the number of GPUs {@code N = M*G}} */
    public int worldSize() {
        return machines * gpusPerMachine;
    }

    /**
     * The machine a rank is on.
     *
     * @param rank global rank, {@code 0 <= rank < N}
     * @return its machine index, {@code rank / G}
     * @throws InvalidConfigurationException if {@code rank} is outside {@code [0, N)}
     */
    public int machineOf(int rank) {
        if (rank < 0 || rank >= worldSize()) {
            throw new InvalidConfigurationException("rank " + rank + " is outside the world of " + worldSize(),
                    "0 <= rank < N");
        }
        return rank / gpusPerMachine;
    }

    /**
     * The link a transfer between two ranks travels.
     *
     * @param from one global rank, {@code 0 <= from < N}
     * @param to   the other global rank, {@code 0 <= to < N}
     * @return {@code SELF} for one rank, {@code INTRA_MACHINE} within a machine, else {@code INTER_MACHINE}
     * @throws InvalidConfigurationException if the ranks differ and one is outside {@code [0, N)}
     */
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
