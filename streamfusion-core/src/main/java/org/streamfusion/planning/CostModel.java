package org.streamfusion.planning;

import java.util.List;
import java.util.Locale;
import org.streamfusion.InterMachineLink;
import org.streamfusion.AttentionShape;
import org.streamfusion.DeviceMesh;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.LinkClass;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.QkvExchange;

/**
 * The planner's cost model, every term explicit (derivation and sources: {@code docs/cost-model.md}):
 * <pre>
 *   time       = overhead + exposed + max(overlapped, compute) + latency
 *   exposed, overlapped = max over ranks of  intra/intraBw + inter/link.perGpuBytesPerSecond(G)     (bytes;
 *              inter counts 1 + 4/D + 2/32 bytes per element when the plan carries FP8 between machines)
 *   compute    = 4*B*H*S^2*D / N / (kernel(D, launch FLOPs) * layerEfficiency * ringEfficiency(r))
 *   ringEfficiency(r) = 1 / (1 + ringPenalty*(r-1))
 *   latency    = steps * stepSeconds(one- or two-sided) + nicMessages * link.latencySeconds
 *   nicMessages = inter-machine messages of the busiest rank, times G when a machine's GPUs share one NIC
 * </pre>
 * The link between machines is an {@link InterMachineLink}: with a NIC per machine its {@code G} GPUs
 * share it and each gets 1/G; with a NIC per GPU each gets all of it. Bandwidth inside a machine is per
 * GPU. The kernel's rate is measured by head width and launch size ({@link KernelThroughput}); the ring
 * cuts the attention into {@code r} launches and merges, which the ring penalty charges.
 *
 * @param hardware             which calibration this is, as {@link Planner#explain} names it
 * @param intraBytesPerSecond  per-GPU bandwidth inside a machine
 * @param link                 the network between machines
 * @param kernel               the fused kernel's FLOP/s on one GPU
 * @param layerEfficiency      fraction of the kernel's rate a whole layer's attention launches reach
 * @param ringPenalty          relative efficiency loss per extra ring member
 * @param oneSidedStepSeconds  seconds per communication step of STREAMFUSION (launches, barriers)
 * @param twoSidedStepSeconds  seconds per communication step of the two-sided methods (group launch, rendezvous)
 * @param layerSeconds         seconds every layer costs whatever its mesh (launch-bound floor)
 */
public record CostModel(String hardware, double intraBytesPerSecond, InterMachineLink link, KernelThroughput kernel,
        double layerEfficiency, double ringPenalty, double oneSidedStepSeconds, double twoSidedStepSeconds,
        double layerSeconds) {

    /**
     * Checks every term.
     *
     * @throws InvalidConfigurationException if {@code hardware} is blank, {@code link} or {@code kernel} is
     *         null, {@code intraBytesPerSecond} is not positive and finite, {@code layerEfficiency} is not
     *         in {@code (0, 1]}, or the penalty, a step latency or the layer overhead is negative or not
     *         finite
     */
    public CostModel {
        if (hardware == null || hardware.isBlank() || link == null || kernel == null) {
            throw new InvalidConfigurationException("hardware='" + hardware + "' link=" + link + " kernel=" + kernel,
                    "a cost model names its hardware, link and kernel");
        }
        positive("intraBytesPerSecond", intraBytesPerSecond);
        positive("layerEfficiency", layerEfficiency);
        if (layerEfficiency > 1) {
            throw new InvalidConfigurationException("layerEfficiency=" + layerEfficiency, "layerEfficiency <= 1");
        }
        for (double v : new double[] {ringPenalty, oneSidedStepSeconds, twoSidedStepSeconds, layerSeconds}) {
            if (!(v >= 0) || Double.isInfinite(v)) {
                throw new InvalidConfigurationException("ringPenalty=" + ringPenalty + " oneSidedStepSeconds="
                        + oneSidedStepSeconds + " twoSidedStepSeconds=" + twoSidedStepSeconds + " layerSeconds="
                        + layerSeconds, "penalty, step latencies and layer overhead finite and >= 0");
            }
        }
    }

    private static void positive(String name, double v) {
        if (!(v > 0) || Double.isInfinite(v)) {
            throw new InvalidConfigurationException(name + "=" + v + " is not a positive finite number", name + " > 0");
        }
    }

    /**
     * A100-40GB NVSwitch machines with 400 Gb/s per machine between them (the paper's testbed): assumed
     * figures, 55% of the 312 TFLOP/s bf16 peak at any head width, not measured by this project.
     *
     * @return the model, with {@link InterMachineLink#p4de400G()} between machines
     */
    public static CostModel a100Efa() {
        return new CostModel("A100-40GB NVSwitch, the paper's testbed (assumed, not measured here)", 240e9,
                InterMachineLink.p4de400G(), KernelThroughput.uniform("A100 assumed: 0.55 x 312 TFLOP/s", 0.55 * 312e12),
                1.0, 0.03, 5e-6, 20e-6, 0);
    }

    /**
     * H200 NVLink machines, calibrated from this project's measurements (docs/cost-model.md names each
     * source), joined by {@code link}.
     *
     * @param link the network between the machines
     * @return the calibrated model
     */
    public static CostModel h200(InterMachineLink link) {
        KernelThroughput kernel = new KernelThroughput("sf_single on one H200, docs/kernels.md (B=1, H=24)", List.of(
                new KernelThroughput.Point(64, AttentionShape.of(1, 16384, 24, 64).flops(), 467.0e12),
                new KernelThroughput.Point(64, AttentionShape.of(1, 65536, 24, 64).flops(), 466.6e12),
                new KernelThroughput.Point(128, AttentionShape.of(1, 16384, 24, 128).flops(), 640.4e12),
                new KernelThroughput.Point(128, AttentionShape.of(1, 65536, 24, 128).flops(), 646.6e12)));
        return new CostModel("H200 NVLink, calibrated from docs/native.md, docs/kernels.md, docs/results/layers.md"
                + " (docs/cost-model.md)", H200_NVLINK_BYTES_PER_SECOND, link, kernel, 0.95, 0.015, 15e-6, 30e-6, 200e-6);
    }

    /** Per-GPU all-to-all bus bandwidth over NVLink from Java at 256 MiB per rank (docs/native.md, call D). */
    public static final double H200_NVLINK_BYTES_PER_SECOND = 300e9;

    /**
     * The same model with another link between machines.
     *
     * @param newLink the link that replaces {@link #link()}
     * @return the model with {@code newLink}
     */
    public CostModel withLink(InterMachineLink newLink) {
        return new CostModel(hardware, intraBytesPerSecond, newLink, kernel, layerEfficiency, ringPenalty,
                oneSidedStepSeconds, twoSidedStepSeconds, layerSeconds);
    }

    /**
     * The logical machines share one host: what crosses between them goes over the same NVLink.
     *
     * @return a link with a NIC per GPU at {@code intraBytesPerSecond} and no latency
     */
    public InterMachineLink sameHostLink() {
        return new InterMachineLink("none (NVLink, no emulation)", intraBytesPerSecond, 0, InterMachineLink.Nics.PER_GPU);
    }

    /**
     * The share of the kernel's rate left when the ring cuts the attention into {@code ring} launches.
     *
     * @param ring ring degree {@code r}, at least 1
     * @return {@code 1 / (1 + ringPenalty*(r-1))}, in {@code (0, 1]}
     */
    public double ringEfficiency(int ring) {
        return 1 / (1 + ringPenalty * (ring - 1));
    }

    /**
     * Communication steps one rank takes in sequence: an exchange (Q, K and V grouped in one, or one each:
     * {@link QkvExchange}), a ring step, a torus stage's issue, Push O (each a launch or group and, one-sided,
     * a barrier).
     *
     * @param plan the plan whose layer is counted
     * @return the steps of one rank in one layer
     */
    public static int steps(Plan plan) {
        DeviceMesh mesh = plan.mesh();
        int t = mesh.torus();
        int u = mesh.ulysses();
        int r = mesh.ring();
        // Q, K, V in one grouped exchange or three (QkvExchange); STREAMFUSION's ScatterPushes count as one step.
        boolean grouped = plan.groupsQkv(plan.shape().dtype());
        return switch (plan.method()) {
            case ULYSSES, RING, USP, TAS -> (u > 1 ? (grouped ? 2 : 4) : 0) + (r - 1);
            // intra-machine scatter, torus transfers (t > 1), (2t-1) ring passes of r-1 steps, Push O
            case TORUS_TWO_SIDED -> (grouped ? 1 : 3) + (t > 1 ? 1 : 0) + (2 * t - 1) * (r - 1) + 1;
            case STREAMFUSION -> 1 + (t > 1 ? 1 : 0) + (2 * t - 1) * (r - 1) + 1;
        };
    }

    /**
     * The estimate for one plan.
     *
     * @param plan the plan to cost
     * @return its time per layer, term by term
     */
    public Estimate estimate(Plan plan) {
        CommunicationVolume vol = CommunicationVolume.of(plan);
        DeviceMesh mesh = plan.mesh();
        double bytes = CommunicationVolume.wireBytesPerElement(plan, LinkClass.INTRA_MACHINE);
        double interBytes = CommunicationVolume.wireBytesPerElement(plan, LinkClass.INTER_MACHINE);
        int g = mesh.topology().gpusPerMachine();
        double interPerGpu = link.perGpuBytesPerSecond(g);
        double exposed = 0;
        double overlapped = 0;
        int interMessages = 0;
        for (int rank = 0; rank < mesh.worldSize(); rank++) {
            CommunicationVolume.RankVolume rv = vol.rank(rank);
            exposed = Math.max(exposed, seconds(rv.exposedElements(LinkClass.INTRA_MACHINE) * bytes,
                    rv.exposedElements(LinkClass.INTER_MACHINE) * interBytes, interPerGpu));
            overlapped = Math.max(overlapped, seconds(rv.overlappedElements(LinkClass.INTRA_MACHINE) * bytes,
                    rv.overlappedElements(LinkClass.INTER_MACHINE) * interBytes, interPerGpu));
            interMessages = Math.max(interMessages, rv.transfers(LinkClass.INTER_MACHINE));
        }
        int nicMessages = interMessages * link.gpusPerNic(g);
        double perGpuFlops = plan.shape().flops() / mesh.worldSize();
        double rate = kernel.flopsPerSecond(plan.shape().headDim(), perGpuFlops / mesh.ring()) * layerEfficiency
                * ringEfficiency(mesh.ring());
        double compute = perGpuFlops / rate;
        int steps = steps(plan);
        double stepLatency = steps * (plan.method() == Method.STREAMFUSION ? oneSidedStepSeconds : twoSidedStepSeconds);
        double latency = stepLatency + nicMessages * link.latencySeconds();
        double total = layerSeconds + exposed + Math.max(overlapped, compute) + latency;
        return new Estimate(total, compute, exposed, overlapped, latency, layerSeconds, steps, nicMessages,
                vol.maxWireBytesPerRank(LinkClass.INTRA_MACHINE), vol.maxWireBytesPerRank(LinkClass.INTER_MACHINE));
    }

    private double seconds(double intra, double inter, double interPerGpu) {
        return intra / intraBytesPerSecond + (Double.isInfinite(interPerGpu) ? 0 : inter / interPerGpu);
    }

    /**
     * Which calibration and which link, in one line.
     *
     * @return the hardware name, NVLink bandwidth, efficiency, ring penalty, step latencies, layer
     *         overhead and kernel
     */
    public String describe() {
        return String.format(Locale.ROOT, "hardware %s: NVLink %.0f GB/s per GPU, layer efficiency %.2f, ring penalty %.3f,"
                + " step %.0f us one-sided / %.0f us two-sided, layer overhead %.0f us; kernel %s", hardware,
                intraBytesPerSecond / 1e9, layerEfficiency, ringPenalty, oneSidedStepSeconds * 1e6, twoSidedStepSeconds * 1e6,
                layerSeconds * 1e6, kernel);
    }

    /**
     * Seconds per layer and where they go; bytes are the largest per-rank volumes.
     *
     * @param seconds               the whole layer: overhead + exposed + max(overlapped, compute) + latency
     * @param computeSeconds        the attention on one GPU
     * @param exposedCommSeconds    communication nothing hides, largest over ranks
     * @param overlappedCommSeconds communication that runs alongside the attention, largest over ranks
     * @param latencySeconds        step latencies plus the inter-machine messages' latency
     * @param overheadSeconds       the fixed per-layer term
     * @param steps                 communication steps per rank
     * @param nicMessages           inter-machine messages through the busiest NIC
     * @param intraBytes            bytes of one rank's transfers inside its machine, largest over ranks
     * @param interBytes            bytes of one rank's transfers between machines (FP8 wire size when
     *                              compressed), largest over ranks
     */
    public record Estimate(double seconds, double computeSeconds, double exposedCommSeconds,
            double overlappedCommSeconds, double latencySeconds, double overheadSeconds, int steps, int nicMessages,
            long intraBytes, long interBytes) {
    }
}
