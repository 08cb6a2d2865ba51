package org.streamfusion.sim;

import java.util.Locale;
import org.streamfusion.InterMachineLink;
import org.streamfusion.InvalidConfigurationException;

/**
 * One GPU type and its machine, as the simulator sees it; versioned, so that a table says which numbers
 * produced it. Every number's source is in {@code docs/simulator.md}, section "Profiles".
 *
 * @param name                       how outputs name it
 * @param version                    bumped whenever a number changes
 * @param streamingMultiprocessors   SMs: one 128-row Q tile runs on one SM at a time
 * @param tileFlopsPerSecondD64      full-wave attention rate of the whole GPU at {@code D = 64}
 * @param tileFlopsPerSecondD128     the same at {@code D = 128}
 * @param launchSeconds              added to every kernel
 * @param memoryBytesPerSecond       device memory; a copy kernel reads and writes its bytes
 * @param nvlinkBytesPerSecond       one GPU's NVLink/NVSwitch send rate for SM stores and NCCL
 * @param copyEngineBytesPerSecond   one GPU's NVLink rate for copy-engine gets (GatherPull)
 * @param twoSidedOpSeconds          fixed cost of one grouped send/recv (launch and rendezvous)
 * @param oneSidedOpSeconds          fixed cost of one ScatterPush or GatherPull
 * @param link                       the network between machines
 */
public record HardwareProfile(String name, int version, int streamingMultiprocessors, double tileFlopsPerSecondD64,
        double tileFlopsPerSecondD128, double launchSeconds, double memoryBytesPerSecond, double nvlinkBytesPerSecond,
        double copyEngineBytesPerSecond, double twoSidedOpSeconds, double oneSidedOpSeconds, InterMachineLink link) {

    /**
     * Checks the numbers.
     *
     * @throws InvalidConfigurationException if the name is blank, a count or rate is not positive and finite,
     *                                       a fixed cost is negative or not finite, or the link is null
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
        for (double cost : new double[] {launchSeconds, twoSidedOpSeconds, oneSidedOpSeconds}) {
            if (!(cost >= 0) || Double.isInfinite(cost)) {
                throw new InvalidConfigurationException("profile " + name + ": a fixed cost of " + cost + " s",
                        "0 <= fixed cost < Infinity");
            }
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
     * NVIDIA H200 (SXM, NVLink), from this project's measurements only, with {@link InterMachineLink#rail400G()}
     * between machines (no run here crossed machines).
     *
     * @return the {@code h200} profile
     */
    public static HardwareProfile h200() {
        return new HardwareProfile("h200", 1,
                132, // docs/kernels.md, "Results": 132 SMs
                // docs/kernels.md: 56.55 ms at S=65536, D=64 and 81.62 ms at D=128 for 12288 Q tiles, i.e.
                // 94 waves of 132 tiles; per wave 4*128*65536*D flops per SM: 471 / 653 TFLOP/s at full waves.
                471.2e12, 653.2e12,
                // docs/results/layers.md: ULYSSES(u=4) at S=8192, H=8 (0.448 ms) is the one layer fitted: it
                // leaves 1.0 us per kernel once the all-to-alls and the attention are counted.
                1.0e-6,
                4.3e12, // docs/kernels.md, "Floors": 4.3 TB/s device memory
                // docs/native.md, call D: NCCL all-to-all 226.5-250.7 GB/s at 64 MiB, 298-310 at 256 MiB; the
                // line through (48 MiB, 227 GB/s) and (192 MiB, 300 GB/s) sent per GPU: 336 GB/s + 72 us.
                336e9,
                // docs/native.md, call D: NVSHMEM put on copy engines 176 GB/s at 64 MiB, 194-196 at 256 MiB: 201 GB/s.
                201e9,
                72e-6,
                // docs/native.md, call D: NVSHMEM put with the SM kernel, 266-280 GB/s at 64 MiB and 307-325
                // at 256 MiB: the same line gives 334 GB/s (taken as NVLink's 336) + 34 us per round.
                34e-6,
                InterMachineLink.rail400G());
    }

    /**
     * NVIDIA A100 40 GB on NVSwitch (p4de), from published figures, with {@link InterMachineLink#p4de400G()}:
     * the paper's testbed. Fixed costs are the H200's (the same software stack).
     *
     * @return the {@code a100} profile
     */
    public static HardwareProfile a100() {
        HardwareProfile h = h200();
        return new HardwareProfile("a100", 1,
                108, // NVIDIA A100 Tensor Core GPU Architecture whitepaper: 108 SMs
                // FlashAttention-2 (Dao, 2023): forward up to 230 TFLOP/s on A100 at D=128; D=64 scaled by the
                // D=64/D=128 ratio measured here on the H200 (467/647): 166 TFLOP/s.
                230e12 * 467.0 / 647.0, 230e12,
                h.launchSeconds(),
                1555e9, // A100 40 GB datasheet: 1,555 GB/s HBM2
                300e9, // A100 datasheet: NVLink 600 GB/s per GPU, both directions together
                300e9 * h.copyEngineBytesPerSecond() / h.nvlinkBytesPerSecond(), // copy engines at the H200's share
                h.twoSidedOpSeconds(), h.oneSidedOpSeconds(),
                InterMachineLink.p4de400G()); // AWS p4de.24xlarge: 400 Gb/s EFA per machine
    }

    /**
     * A profile by name: {@code h200} or {@code a100}, any case.
     *
     * @param name the profile's name; surrounding blanks are ignored
     * @return the profile
     * @throws InvalidConfigurationException if no profile has that name
     */
    public static HardwareProfile named(String name) {
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "h200" -> h200();
            case "a100" -> a100();
            default -> throw new InvalidConfigurationException("hardware profile '" + name + "'", "h200 or a100");
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
                launchSeconds, memoryBytesPerSecond, nvlinkBytesPerSecond, copyEngineBytesPerSecond, twoSidedOpSeconds,
                oneSidedOpSeconds, other);
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
