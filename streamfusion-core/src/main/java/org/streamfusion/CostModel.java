package org.streamfusion;

/**
 * The planner's cost model, every term explicit:
 * <pre>
 *   time = exposed + max(overlapped, compute) + transfers * latency
 *   exposed/overlapped = max over ranks of  intra/intraBw + inter*G/interBw     (bytes)
 *   compute = 4*B*H*S^2*D / N / (peak * efficiency(r))
 *   efficiency(r) = baseEfficiency / (1 + ringPenalty*(r-1))
 * </pre>
 * Inter-machine bandwidth is per machine and shared by its {@code G} GPUs; intra-machine bandwidth is
 * per GPU. The efficiency falls as the ring cuts the attention into more, smaller launches. The
 * defaults describe the paper's testbed (A100 NVSwitch machines, 400 Gbps EFA); measure and override.
 *
 * @param intraBytesPerSecond per-GPU bandwidth inside a machine
 * @param interBytesPerSecond per-machine bandwidth between machines
 * @param peakFlops           dense bf16 peak of one GPU
 * @param baseEfficiency      fraction of peak the fused kernel reaches on one large chunk
 * @param ringPenalty         relative efficiency loss per extra ring member
 * @param oneSidedLatency     seconds per one-sided transfer or barrier
 * @param twoSidedLatency     seconds per two-sided transfer (group launch and rendezvous)
 */
public record CostModel(double intraBytesPerSecond, double interBytesPerSecond, double peakFlops, double baseEfficiency,
        double ringPenalty, double oneSidedLatency, double twoSidedLatency) {

    public CostModel {
        positive("intraBytesPerSecond", intraBytesPerSecond);
        positive("interBytesPerSecond", interBytesPerSecond);
        positive("peakFlops", peakFlops);
        positive("baseEfficiency", baseEfficiency);
        if (!(ringPenalty >= 0) || !(oneSidedLatency >= 0) || !(twoSidedLatency >= 0)) {
            throw new InvalidConfigurationException("ringPenalty=" + ringPenalty + " oneSidedLatency=" + oneSidedLatency
                    + " twoSidedLatency=" + twoSidedLatency, "penalty and latencies >= 0");
        }
    }

    private static void positive(String name, double v) {
        if (!(v > 0) || Double.isInfinite(v)) {
            throw new InvalidConfigurationException(name + "=" + v + " is not a positive finite number", name + " > 0");
        }
    }

    /** A100-40GB NVSwitch machines with 400 Gbps between them (the paper's testbed). */
    public static CostModel a100Efa() {
        return new CostModel(240e9, 50e9, 312e12, 0.55, 0.03, 5e-6, 20e-6);
    }

    public double efficiency(int ring) {
        return baseEfficiency / (1 + ringPenalty * (ring - 1));
    }

    /** The estimate for one plan. */
    public Estimate estimate(Plan plan) {
        CommunicationVolume vol = CommunicationVolume.of(plan);
        DeviceMesh mesh = plan.mesh();
        int bytes = plan.shape().dtype().bytes();
        int g = mesh.topology().gpusPerMachine();
        double exposed = 0;
        double overlapped = 0;
        int transfers = 0;
        for (int rank = 0; rank < mesh.worldSize(); rank++) {
            CommunicationVolume.RankVolume rv = vol.rank(rank);
            exposed = Math.max(exposed, seconds(rv.exposedElements(LinkClass.INTRA_MACHINE) * bytes,
                    rv.exposedElements(LinkClass.INTER_MACHINE) * bytes, g));
            overlapped = Math.max(overlapped, seconds(rv.overlappedElements(LinkClass.INTRA_MACHINE) * bytes,
                    rv.overlappedElements(LinkClass.INTER_MACHINE) * bytes, g));
            transfers = Math.max(transfers, rv.transfers());
        }
        double compute = plan.shape().flops() / mesh.worldSize() / (peakFlops * efficiency(mesh.ring()));
        double latency = transfers * (plan.method() == Method.STREAMFUSION ? oneSidedLatency : twoSidedLatency);
        double total = exposed + Math.max(overlapped, compute) + latency;
        return new Estimate(total, compute, exposed, overlapped, latency, vol.maxPerRank(LinkClass.INTRA_MACHINE) * bytes,
                vol.maxPerRank(LinkClass.INTER_MACHINE) * bytes);
    }

    private double seconds(long intra, long inter, int gpusPerMachine) {
        return intra / intraBytesPerSecond + (double) inter * gpusPerMachine / interBytesPerSecond;
    }

    /** Seconds per layer and where they go; bytes are the largest per-rank volumes. */
    public record Estimate(double seconds, double computeSeconds, double exposedCommSeconds,
            double overlappedCommSeconds, double latencySeconds, long intraBytes, long interBytes) {
    }
}
