package org.streamfusion.bench;

import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.Topology;

/**
 * The leading arguments the one-layer GPU checks share, {@code [TOPOLOGY [S [H [D [COUNT]]]]]}, for a bf16 layer
 * with B = 1: {@link GraphCheck}, {@link QkvExchangeCheck}, {@link KernelFloorCheck}. Defaults S=4608 (Flux
 * 1024x1024), H=24, D=128.
 *
 * @param topology the (logical) topology
 * @param shape    the layer
 * @param count    timed repetitions (REPS, ROUNDS), at least 1
 */
record LayerArgs(Topology topology, AttentionShape shape, int count) {
    /**
     * Parses {@code args} with the given defaults for TOPOLOGY and COUNT.
     *
     * @param args      the command line
     * @param topology  TOPOLOGY when absent
     * @param count     COUNT when absent
     * @param countName COUNT's name in the usage line, for the refusal
     * @return the arguments
     * @throws IllegalArgumentException if COUNT is below 1
     */
    static LayerArgs parse(String[] args, String topology, int count, String countName) {
        Topology topo = Topology.parse(args.length > 0 ? args[0] : topology);
        int s = args.length > 1 ? Integer.parseInt(args[1]) : 4608;
        int h = args.length > 2 ? Integer.parseInt(args[2]) : 24;
        int d = args.length > 3 ? Integer.parseInt(args[3]) : 128;
        int n = args.length > 4 ? Integer.parseInt(args[4]) : count;
        if (n < 1) {
            throw new IllegalArgumentException(countName + " " + n + " must be at least 1");
        }
        return new LayerArgs(topo, AttentionShape.of(1, s, h, d, DType.BF16), n);
    }
}
