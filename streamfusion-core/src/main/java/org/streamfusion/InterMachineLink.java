package org.streamfusion;

import java.util.Locale;

/**
 * The network between machines, one description for every part that models it: the planner's cost
 * model, the emulated inter-machine links of the CUDA backend and the cluster simulator. A NIC moves
 * {@code bytesPerSecond} in each direction and adds {@code latencySeconds} to every message; transfers
 * through one NIC queue behind each other. Each GPU has its own NIC ({@link Nics#PER_GPU}, rail-optimised
 * H100/H200 clusters) or a machine's GPUs share {@code nicsPerMachine} of them ({@link Nics#PER_MACHINE}: one
 * for the paper's 400 Gb/s p4de figure; with {@code k} NICs for {@code G} GPUs, GPU {@code l} of a machine
 * uses NIC {@code l*k/G}, so each NIC serves {@code G/k} GPUs). A proxy-driven link ({@code proxyDriven}: sockets,
 * or a NIC the GPU cannot drive itself) moves every message through host memory: a CPU proxy thread of each GPU
 * handles it at both ends, and the bytes cross PCIe on the way; the simulator charges both from its hardware
 * profile.
 *
 * @param name           how outputs name it
 * @param bytesPerSecond one NIC's bandwidth per direction; {@code +Infinity} for an unlimited link
 * @param latencySeconds added to every message
 * @param nics           one NIC per GPU, or NICs per machine shared by its GPUs
 * @param nicsPerMachine with {@link Nics#PER_MACHINE}, how many NICs a machine has (at least 1); with
 *                       {@link Nics#PER_GPU}, 0
 * @param proxyDriven    whether a CPU proxy thread moves every message through host memory
 */
public record InterMachineLink(String name, double bytesPerSecond, double latencySeconds, Nics nics,
        int nicsPerMachine, boolean proxyDriven) {
    /** Where the NICs are. */
    public enum Nics {
        /** Each GPU has a NIC of its own. */
        PER_GPU,
        /** The GPUs of a machine share its NICs ({@code nicsPerMachine} of them). */
        PER_MACHINE
    }

    /**
     * A link with one NIC per GPU, or one NIC per machine.
     *
     * @param name           how outputs name it
     * @param bytesPerSecond one NIC's bandwidth per direction
     * @param latencySeconds added to every message
     * @param nics           one NIC per GPU or one per machine
     */
    public InterMachineLink(String name, double bytesPerSecond, double latencySeconds, Nics nics) {
        this(name, bytesPerSecond, latencySeconds, nics, nics == Nics.PER_MACHINE ? 1 : 0, false);
    }

    /**
     * A link the GPUs drive themselves (not proxy-driven).
     *
     * @param name           how outputs name it
     * @param bytesPerSecond one NIC's bandwidth per direction
     * @param latencySeconds added to every message
     * @param nics           one NIC per GPU, or NICs per machine shared by its GPUs
     * @param nicsPerMachine with {@link Nics#PER_MACHINE}, NICs per machine; with {@link Nics#PER_GPU}, 0
     */
    public InterMachineLink(String name, double bytesPerSecond, double latencySeconds, Nics nics, int nicsPerMachine) {
        this(name, bytesPerSecond, latencySeconds, nics, nicsPerMachine, false);
    }

    /**
     * Checks every component.
     *
     * @throws InvalidConfigurationException if {@code name} is blank, the bandwidth is not positive, the
     *         latency is negative or infinite, or {@code nics} is null
     */
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
        if (nics == Nics.PER_GPU ? nicsPerMachine != 0 : nicsPerMachine < 1) {
            throw new InvalidConfigurationException("link " + name + ": nics=" + nics + " nicsPerMachine=" + nicsPerMachine,
                    "PER_GPU with nicsPerMachine 0, or PER_MACHINE with at least one NIC");
        }
    }

    /**
     * The NIC a GPU sends through, numbered over the whole cluster.
     *
     * @param machine        the GPU's machine
     * @param localGpu       the GPU's index inside its machine, {@code 0 <= localGpu < gpusPerMachine}
     * @param gpusPerMachine GPUs {@code G} of one machine
     * @return with a NIC per GPU, {@code machine*G + localGpu}; else {@code machine*k + localGpu*k/G}
     */
    public int nicOf(int machine, int localGpu, int gpusPerMachine) {
        return nics == Nics.PER_GPU ? machine * gpusPerMachine + localGpu
                : machine * nicsPerMachine + (int) ((long) localGpu * nicsPerMachine / gpusPerMachine);
    }

    /**
     * NICs in a cluster of {@code machines} machines of {@code gpusPerMachine} GPUs.
     *
     * @param machines       machines {@code M}
     * @param gpusPerMachine GPUs {@code G} of one machine
     * @return {@code M*G} with a NIC per GPU, else {@code M*k}
     */
    public int nicCount(int machines, int gpusPerMachine) {
        return machines * (nics == Nics.PER_GPU ? gpusPerMachine : nicsPerMachine);
    }

    /**
     * GPUs that share the busiest NIC of a machine of {@code gpusPerMachine} GPUs.
     *
     * @param gpusPerMachine GPUs {@code G} of one machine, at least 1
     * @return 1 with a NIC per GPU, else {@code ceil(G/k)}
     */
    public int gpusPerNic(int gpusPerMachine) {
        return nics == Nics.PER_GPU ? 1 : (gpusPerMachine + nicsPerMachine - 1) / nicsPerMachine;
    }

    /**
     * One 400 Gb/s NIC per GPU (rail-optimised H100/H200 clusters): 50 GB/s per GPU.
     *
     * @return {@code rail-400G}: 50 GB/s per NIC, 5 us per message, a NIC per GPU
     */
    public static InterMachineLink rail400G() {
        return new InterMachineLink("rail-400G", 50e9, 5e-6, Nics.PER_GPU);
    }

    /**
     * 400 Gb/s per machine shared by its GPUs (the paper's p4de: EFA, 8 A100s).
     *
     * @return {@code p4de-400G}: 50 GB/s per NIC, 15 us per message, a NIC per machine
     */
    public static InterMachineLink p4de400G() {
        return new InterMachineLink("p4de-400G", 50e9, 15e-6, Nics.PER_MACHINE);
    }

    /**
     * 100 Gb/s Ethernet per machine.
     *
     * @return {@code eth-100G}: 12.5 GB/s per NIC, 20 us per message, a NIC per machine
     */
    public static InterMachineLink ethernet100G() {
        return new InterMachineLink("eth-100G", 12.5e9, 20e-6, Nics.PER_MACHINE);
    }

    /**
     * No limit: the emulation's own cost, with the bytes still moving over the real links.
     *
     * @return {@code unlimited}: infinite bandwidth, no latency, a NIC per GPU
     */
    public static InterMachineLink unlimited() {
        return new InterMachineLink("unlimited", Double.POSITIVE_INFINITY, 0, Nics.PER_GPU);
    }

    /**
     * The share one GPU has when a full machine of {@code realGpusPerMachine} GPUs sends at once, as a NIC
     * of its own: the paper's 400 Gb/s over 8 A100s is 6.25 GB/s per GPU. For logical machines with fewer
     * GPUs than the real ones.
     *
     * @param realGpusPerMachine GPUs of the real machine that share a per-machine NIC, at least 1
     * @return a link with a NIC per GPU at that share (this link's rate when it already has a NIC per GPU),
     *         named {@code NAME/gpu-of-G}
     * @throws InvalidConfigurationException if {@code realGpusPerMachine < 1}
     */
    public InterMachineLink perGpuShareOf(int realGpusPerMachine) {
        if (realGpusPerMachine <= 0) {
            throw new InvalidConfigurationException("realGpusPerMachine=" + realGpusPerMachine, "at least one GPU");
        }
        double share = bytesPerSecond / gpusPerNic(realGpusPerMachine);
        return new InterMachineLink(baseName() + "/gpu-of-" + realGpusPerMachine + (proxyDriven ? PROXY_SUFFIX : ""),
                share, latencySeconds, Nics.PER_GPU, 0, proxyDriven);
    }

    /**
     * The same link at another bandwidth per NIC and direction.
     *
     * @param bytes bytes per second per NIC and direction, positive ({@code +Infinity} for no limit)
     * @return the link, named {@code NAME@RATE}
     * @throws InvalidConfigurationException if {@code bytes} is not positive
     */
    public InterMachineLink withBandwidth(double bytes) {
        return new InterMachineLink(baseName() + "@" + gbPerSecond(bytes) + (proxyDriven ? PROXY_SUFFIX : ""), bytes,
                latencySeconds, nics, nicsPerMachine, proxyDriven);
    }

    /**
     * The same link, driven by a CPU proxy thread through host memory or by the GPUs themselves.
     *
     * @param proxy whether a proxy thread moves every message
     * @return the link, named {@code NAME,proxy} when it becomes proxy-driven, {@code NAME} less that suffix when not
     */
    public InterMachineLink withProxyDriven(boolean proxy) {
        return new InterMachineLink(proxy ? baseName() + PROXY_SUFFIX : baseName(), bytesPerSecond, latencySeconds, nics,
                nicsPerMachine, proxy);
    }

    /** The name without the proxy suffix that {@link #withProxyDriven} adds. */
    private String baseName() {
        return name.endsWith(PROXY_SUFFIX) ? name.substring(0, name.length() - PROXY_SUFFIX.length()) : name;
    }

    /**
     * Bytes per second one GPU can move when all {@code gpusPerMachine} GPUs of its machine send at once.
     *
     * @param gpusPerMachine GPUs {@code G} of one machine, at least 1; divided by only with a NIC per machine
     * @return {@code bytesPerSecond}, divided by the GPUs that share the busiest NIC ({@link #gpusPerNic})
     * @throws InvalidConfigurationException if {@code gpusPerMachine < 1}
     */
    public double perGpuBytesPerSecond(int gpusPerMachine) {
        if (gpusPerMachine <= 0) { // else Infinity (or a negative rate) on a NIC per machine
            throw new InvalidConfigurationException("gpusPerMachine=" + gpusPerMachine, "at least one GPU");
        }
        return bytesPerSecond / gpusPerNic(gpusPerMachine);
    }

    /**
     * Seconds one message of {@code bytes} holds a NIC, latency included.
     *
     * @param bytes the message's size in bytes
     * @return {@code latencySeconds + bytes/bytesPerSecond}; the latency alone on an unlimited link
     */
    public double messageSeconds(long bytes) {
        return latencySeconds + (Double.isInfinite(bytesPerSecond) ? 0 : bytes / bytesPerSecond);
    }

    /**
     * A preset by name ({@code rail-400G}, {@code p4de-400G}, {@code eth-100G}, {@code unlimited}, any case),
     * optionally as a per-GPU share ({@code p4de-400G/gpu-of-8}), or {@code GBPS,LATENCY_US,per-gpu|per-machine|K-per-machine}
     * (e.g. {@code 12.5,10,per-gpu}; {@code 12.5,10,4-per-machine}: four 12.5 GB/s NICs per machine, shared); any of
     * them followed by {@code ,proxy} is proxy-driven ({@code 2,20,per-gpu,proxy}: a 2 GB/s socket link per GPU).
     *
     * @param spec the preset's name or the link's figures; blanks around it are ignored
     * @return the preset, its share, or a new link with those figures
     * @throws InvalidConfigurationException if {@code spec} is null, has none of these forms, or gives figures
     *         that break a link's rules (then the message names that rule)
     */
    public static InterMachineLink parse(String spec) {
        if (spec == null) {
            throw new InvalidConfigurationException("inter-machine link null", FORMS);
        }
        String s = spec.trim();
        if (s.toLowerCase(Locale.ROOT).endsWith(PROXY_SUFFIX)) {
            return parse(s.substring(0, s.length() - PROXY_SUFFIX.length())).withProxyDriven(true);
        }
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
                String where = parts[2].trim().toLowerCase(Locale.ROOT);
                int count = 1;
                if (where.matches("[0-9]{1,4}-per-machine")) {
                    count = Integer.parseInt(where.substring(0, where.indexOf('-')));
                    where = "per-machine";
                }
                Nics nics = Nics.valueOf(where.toUpperCase(Locale.ROOT).replace('-', '_'));
                return new InterMachineLink(gbPerSecond(gb * 1e9) + "," + parts[1].trim() + "us," + parts[2].trim(),
                        gb * 1e9, us * 1e-6, nics, nics == Nics.PER_GPU ? 0 : count);
            } catch (InvalidConfigurationException e) {
                // The form is right but a figure breaks a link's rule: that rule says more than the list of forms.
                throw new InvalidConfigurationException("inter-machine link '" + spec + "': " + e.what(), e.rule(), e);
            } catch (IllegalArgumentException e) {
                // not numbers or not a NIC placement: fall through to the error naming the forms
            }
        }
        throw new InvalidConfigurationException("inter-machine link '" + spec + "'", FORMS);
    }

    private static final String PROXY_SUFFIX = ",proxy";

    private static final String FORMS = "rail-400G, p4de-400G, eth-100G, unlimited, PRESET/gpu-of-N, or"
            + " GBPS,LATENCY_US,per-gpu|per-machine|K-per-machine, any of them optionally followed by ,proxy";

    private static String gbPerSecond(double bytes) {
        return Double.isInfinite(bytes) ? "unlimited" : String.format(Locale.ROOT, "%.4gGB/s", bytes / 1e9);
    }

    @Override
    public String toString() {
        return name + " (" + gbPerSecond(bytesPerSecond) + " per NIC and direction, "
                + String.format(Locale.ROOT, "%.1f", latencySeconds * 1e6) + " us per message, NIC "
                + (nics == Nics.PER_GPU ? "per GPU" : nicsPerMachine == 1 ? "per machine"
                        : "x" + nicsPerMachine + " per machine") + (proxyDriven ? ", proxy-driven" : "") + ")";
    }
}
