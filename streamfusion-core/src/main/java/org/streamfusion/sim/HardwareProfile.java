package org.streamfusion.sim;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.streamfusion.InterMachineLink;
import org.streamfusion.InvalidConfigurationException;

/**
 * One GPU type and its machine, as the simulator sees it; versioned, so that a table says which numbers
 * produced it. A profile is data: a properties file with every number and its source ({@link #read}); the
 * shipped ones are resources of this module, listed in {@code docs/simulator.md}, section "Profiles".
 *
 * @param name                       how outputs name it
 * @param version                    bumped whenever a number changes
 * @param streamingMultiprocessors   SMs: one 128-row Q tile runs on one SM at a time
 * @param tileFlopsPerSecondD64      full-wave attention rate of the whole GPU at {@code D = 64}
 * @param tileFlopsPerSecondD128     the same at {@code D = 128}
 * @param launchSeconds              added to every kernel
 * @param waveSeconds                added to every wave of an attention launch: what a block costs beside its KV tiles
 *                                   (its Q tile in, its epilogue out) and a wave's uneven end
 * @param memoryBytesPerSecond       device memory; a copy kernel reads and writes its bytes
 * @param nvlinkBytesPerSecond       one GPU's NVLink/NVSwitch send rate for SM stores and NCCL
 * @param copyEngineBytesPerSecond   one GPU's NVLink rate for copy-engine gets (GatherPull)
 * @param twoSidedOpSeconds          fixed cost of one grouped send/recv (launch and rendezvous)
 * @param oneSidedOpSeconds          fixed cost of one ScatterPush or GatherPull
 * @param smContention               the share of an attention kernel's rate lost while a communication kernel (NCCL's,
 *                                   or the SM copy of a ScatterPush over NVLink) runs on its GPU, {@code 0 <= c < 1}
 * @param attentionLayerFactor       an attention kernel inside a layer takes this many times its time alone (the
 *                                   rates above are fitted on kernels alone; a layer's kernels run beside other GPUs'
 *                                   traffic, clocks and transfers), positive
 * @param proxyMessageSeconds        on a proxy-driven link ({@link InterMachineLink#proxyDriven}), the CPU time a
 *                                   GPU's proxy thread spends on one message, at each end
 * @param pcieBytesPerSecond         one GPU's PCIe rate to host memory per direction, which a proxy-driven link's
 *                                   bytes cross at both ends
 * @param link                       the network between machines
 */
public record HardwareProfile(String name, int version, int streamingMultiprocessors, double tileFlopsPerSecondD64,
        double tileFlopsPerSecondD128, double launchSeconds, double waveSeconds, double memoryBytesPerSecond,
        double nvlinkBytesPerSecond, double copyEngineBytesPerSecond, double twoSidedOpSeconds, double oneSidedOpSeconds,
        double smContention, double attentionLayerFactor, double proxyMessageSeconds, double pcieBytesPerSecond,
        InterMachineLink link) {

    /** Every key of a profile file ({@link #read}), in the order a written one lists them; each has a {@code KEY.source}. */
    public static final List<String> FILE_KEYS = List.of("name", "version", "streamingMultiprocessors",
            "tileFlopsPerSecondD64", "tileFlopsPerSecondD128", "launchSeconds", "waveSeconds", "memoryBytesPerSecond",
            "nvlinkBytesPerSecond", "copyEngineBytesPerSecond", "twoSidedOpSeconds", "oneSidedOpSeconds",
            "smContention", "attentionLayerFactor", "proxyMessageSeconds", "pcieBytesPerSecond", "link");

    /**
     * Checks the numbers.
     *
     * @throws InvalidConfigurationException if the name is blank, a count, rate (PCIe's included) or the factor of
     *                                       attention in a layer is not positive and finite, a fixed cost is negative
     *                                       or not finite, the contention is outside [0, 1), or the link is null
     */
    public HardwareProfile {
        if (name == null || name.isBlank()) {
            throw new InvalidConfigurationException("profile name '" + name + "'", "a profile has a name");
        }
        if (version <= 0 || streamingMultiprocessors <= 0) {
            throw new InvalidConfigurationException("profile " + name + ": version=" + version + " SMs="
                    + streamingMultiprocessors, "version > 0 and SMs > 0");
        }
        positive(name, "tileFlopsPerSecondD64", tileFlopsPerSecondD64);
        positive(name, "tileFlopsPerSecondD128", tileFlopsPerSecondD128);
        positive(name, "memoryBytesPerSecond", memoryBytesPerSecond);
        positive(name, "nvlinkBytesPerSecond", nvlinkBytesPerSecond);
        positive(name, "copyEngineBytesPerSecond", copyEngineBytesPerSecond);
        positive(name, "pcieBytesPerSecond", pcieBytesPerSecond);
        positive(name, "attentionLayerFactor", attentionLayerFactor);
        for (double cost : new double[] {launchSeconds, waveSeconds, twoSidedOpSeconds, oneSidedOpSeconds, proxyMessageSeconds}) {
            if (!(cost >= 0) || Double.isInfinite(cost)) {
                throw new InvalidConfigurationException("profile " + name + ": a fixed cost of " + cost + " s",
                        "0 <= fixed cost < Infinity");
            }
        }
        if (!(smContention >= 0 && smContention < 1)) {
            throw new InvalidConfigurationException("profile " + name + ": smContention=" + smContention,
                    "0 <= smContention < 1 (the share of attention's rate lost while communication kernels run)");
        }
        if (link == null) {
            throw new InvalidConfigurationException("profile " + name + ": link=null", "a profile has an inter-machine link");
        }
    }

    private static void positive(String profile, String what, double v) {
        if (!(v > 0) || Double.isInfinite(v)) {
            throw new InvalidConfigurationException("profile " + profile + ": " + what + "=" + v, what + " > 0 and finite");
        }
    }

    /**
     * NVIDIA H200 (SXM, NVLink), fitted from this project's measurements by {@code streamfusion calibrate}; the
     * module's resource {@code h200.properties} holds every number with its source.
     *
     * @return the {@code h200} profile
     */
    public static HardwareProfile h200() {
        return ProfileFile.resource("h200");
    }

    /**
     * NVIDIA A100 40 GB on NVSwitch (p4de), from published figures, with {@link InterMachineLink#p4de400G()}:
     * the paper's testbed; the module's resource {@code a100.properties} holds every number with its source.
     *
     * @return the {@code a100} profile
     */
    public static HardwareProfile a100() {
        return ProfileFile.resource("a100");
    }

    /**
     * A profile file: {@link java.util.Properties} with every constant and its {@code KEY.source}
     * (docs/simulator.md, "Profiles"), as {@code streamfusion calibrate} writes it.
     *
     * @param file the file
     * @return the profile it describes
     * @throws InvalidConfigurationException if the file cannot be read, lacks a constant or its source, or a
     *                                       value breaks the profile's rules
     */
    public static HardwareProfile read(Path file) {
        return ProfileFile.read(file);
    }

    /**
     * A profile by name, {@code h200} or {@code a100} (any case), or a profile file's path ending in
     * {@code .properties}.
     *
     * @param name the profile's name or file; surrounding blanks are ignored
     * @return the profile
     * @throws InvalidConfigurationException if no profile has that name, or the file is refused by {@link #read}
     */
    public static HardwareProfile named(String name) {
        String n = name.trim();
        return switch (n.toLowerCase(Locale.ROOT)) {
            case "h200" -> h200();
            case "a100" -> a100();
            default -> {
                if (n.endsWith(".properties")) {
                    yield read(Path.of(n));
                }
                throw new InvalidConfigurationException("hardware profile '" + name + "'",
                        "h200, a100, or a profile file ending in .properties");
            }
        };
    }

    /**
     * The same GPUs with another network between machines.
     *
     * @param other the network between machines, not null
     * @return the profile with {@code other} as its link, name and version unchanged
     */
    public HardwareProfile withLink(InterMachineLink other) {
        return new HardwareProfile(name, version, streamingMultiprocessors, tileFlopsPerSecondD64, tileFlopsPerSecondD128,
                launchSeconds, waveSeconds, memoryBytesPerSecond, nvlinkBytesPerSecond, copyEngineBytesPerSecond, twoSidedOpSeconds,
                oneSidedOpSeconds, smContention, attentionLayerFactor, proxyMessageSeconds, pcieBytesPerSecond, other);
    }

    /**
     * The full-wave rate at head width {@code d}: the measured one at 64 and 128; between and beyond, a tile's time
     * per KV row taken as linear in {@code d} through the two measured widths (a fixed part for the softmax and
     * the loop, a part that grows with the dot products), an interpolation the planner needs for any width.
     */
    double tileFlopsPerSecond(int d) {
        if (d == 64) {
            return tileFlopsPerSecondD64;
        }
        if (d == 128) {
            return tileFlopsPerSecondD128;
        }
        double at64 = 64 / tileFlopsPerSecondD64;
        double at128 = 128 / tileFlopsPerSecondD128;
        double time = at64 + (at128 - at64) * (d - 64) / 64.0;
        if (!(d > 0 && time > 0)) {
            throw new InvalidConfigurationException("head dim D=" + d + " on profile " + name + " (rates "
                    + tileFlopsPerSecondD64 + " at D=64, " + tileFlopsPerSecondD128 + " at D=128)",
                    "D > 0 and a tile's time, linear in D through the two measured widths, is positive at D");
        }
        return d / time;
    }

    @Override
    public String toString() {
        return name + " v" + version + " over " + link;
    }
}
