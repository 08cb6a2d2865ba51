package org.streamfusion;

import java.util.Locale;

/**
 * The network between machines, one description for every part that models it: the planner's cost
 * model, the emulated inter-machine links of the CUDA backend and the cluster simulator. A NIC moves
 * {@code bytesPerSecond} in each direction and adds {@code latencySeconds} to every message; transfers
 * through one NIC queue behind each other. Each GPU has its own NIC ({@link Nics#PER_GPU}, rail-optimised
 * H100/H200 clusters) or a machine's GPUs share one ({@link Nics#PER_MACHINE}, the paper's p4de).
 *
 * @param name           how outputs name it
 * @param bytesPerSecond one NIC's bandwidth per direction; {@code +Infinity} for an unlimited link
 * @param latencySeconds added to every message
 * @param nics           one NIC per GPU or one per machine
 */
public record InterMachineLink(String name, double bytesPerSecond, double latencySeconds, Nics nics) {
    /** Where the NICs are. */
    public enum Nics {
        PER_GPU, PER_MACHINE
    }

    public InterMachineLink {
        if (name == null || name.isBlank()) {
            throw new InvalidConfigurationException("link name '" + name + "'", "a link has a name");
        }
        if (!(bytesPerSecond > 0)) {
            throw new InvalidConfigurationException("link " + name + ": bytesPerSecond=" + bytesPerSecond,
                    "bandwidth > 0 (Infinity for an unlimited link)");
        }
        if (!(latencySeconds >= 0) || Double.isInfinite(latencySeconds)) {
            throw new InvalidConfigurationException("link " + name + ": latencySeconds=" + latencySeconds,
                    "0 <= latency < Infinity");
        }
        if (nics == null) {
            throw new InvalidConfigurationException("link " + name + ": nics=null", "PER_GPU or PER_MACHINE");
        }
    }

    /** One 400 Gb/s NIC per GPU (rail-optimised H100/H200 clusters): 50 GB/s per GPU. */
    public static InterMachineLink rail400G() {
        return new InterMachineLink("rail-400G", 50e9, 5e-6, Nics.PER_GPU);
    }

    /** 400 Gb/s per machine shared by its GPUs (the paper's p4de: EFA, 8 A100s). */
    public static InterMachineLink p4de400G() {
        return new InterMachineLink("p4de-400G", 50e9, 15e-6, Nics.PER_MACHINE);
    }

    /** 100 Gb/s Ethernet per machine. */
    public static InterMachineLink ethernet100G() {
        return new InterMachineLink("eth-100G", 12.5e9, 20e-6, Nics.PER_MACHINE);
    }

    /** No limit: the emulation's own cost, with the bytes still moving over the real links. */
    public static InterMachineLink unlimited() {
        return new InterMachineLink("unlimited", Double.POSITIVE_INFINITY, 0, Nics.PER_GPU);
    }

    /**
     * The share one GPU has when a full machine of {@code realGpusPerMachine} GPUs sends at once, as a NIC
     * of its own: the paper's 400 Gb/s over 8 A100s is 6.25 GB/s per GPU. For logical machines with fewer
     * GPUs than the real ones.
     */
    public InterMachineLink perGpuShareOf(int realGpusPerMachine) {
        if (realGpusPerMachine <= 0) {
            throw new InvalidConfigurationException("realGpusPerMachine=" + realGpusPerMachine, "at least one GPU");
        }
        double share = nics == Nics.PER_GPU ? bytesPerSecond : bytesPerSecond / realGpusPerMachine;
        return new InterMachineLink(name + "/gpu-of-" + realGpusPerMachine, share, latencySeconds, Nics.PER_GPU);
    }

    /** The same link at another bandwidth per NIC and direction. */
    public InterMachineLink withBandwidth(double bytes) {
        return new InterMachineLink(name + "@" + gbPerSecond(bytes), bytes, latencySeconds, nics);
    }

    /** Bytes per second one GPU can move when all {@code gpusPerMachine} GPUs of its machine send at once. */
    public double perGpuBytesPerSecond(int gpusPerMachine) {
        return nics == Nics.PER_GPU ? bytesPerSecond : bytesPerSecond / gpusPerMachine;
    }

    /** Seconds one message of {@code bytes} holds a NIC, latency included. */
    public double messageSeconds(long bytes) {
        return latencySeconds + (Double.isInfinite(bytesPerSecond) ? 0 : bytes / bytesPerSecond);
    }

    /**
     * A preset by name ({@code rail-400G}, {@code p4de-400G}, {@code eth-100G}, {@code unlimited}, any case),
     * optionally as a per-GPU share ({@code p4de-400G/gpu-of-8}), or {@code GBPS,LATENCY_US,per-gpu|per-machine}
     * (e.g. {@code 12.5,10,per-gpu}).
     */
    public static InterMachineLink parse(String spec) {
        String s = spec.trim();
        int share = s.toLowerCase(Locale.ROOT).indexOf("/gpu-of-");
        if (share > 0) {
            String gpus = s.substring(share + 8);
            if (!gpus.matches("[0-9]{1,6}")) {
                throw new InvalidConfigurationException("inter-machine link '" + spec + "': GPU count '" + gpus + "'",
                        "PRESET/gpu-of-N with N a positive integer");
            }
            return parse(s.substring(0, share)).perGpuShareOf(Integer.parseInt(gpus));
        }
        for (InterMachineLink preset : new InterMachineLink[] {rail400G(), p4de400G(), ethernet100G(), unlimited()}) {
            if (preset.name().equalsIgnoreCase(s)) {
                return preset;
            }
        }
        String[] parts = s.split(",");
        if (parts.length == 3) {
            try {
                double gb = Double.parseDouble(parts[0]);
                double us = Double.parseDouble(parts[1]);
                Nics nics = Nics.valueOf(parts[2].trim().toUpperCase(Locale.ROOT).replace('-', '_'));
                return new InterMachineLink(gbPerSecond(gb * 1e9) + "," + parts[1].trim() + "us," + parts[2].trim(),
                        gb * 1e9, us * 1e-6, nics);
            } catch (IllegalArgumentException e) {
                // fall through to the error naming the forms
            }
        }
        throw new InvalidConfigurationException("inter-machine link '" + spec + "'",
                "rail-400G, p4de-400G, eth-100G, unlimited, PRESET/gpu-of-N, or GBPS,LATENCY_US,per-gpu|per-machine");
    }

    private static String gbPerSecond(double bytes) {
        return Double.isInfinite(bytes) ? "unlimited" : String.format(Locale.ROOT, "%.4gGB/s", bytes / 1e9);
    }

    @Override
    public String toString() {
        return name + " (" + gbPerSecond(bytesPerSecond) + " per NIC and direction, "
                + String.format(Locale.ROOT, "%.1f", latencySeconds * 1e6) + " us per message, NIC "
                + (nics == Nics.PER_GPU ? "per GPU" : "per machine") + ")";
    }
}
