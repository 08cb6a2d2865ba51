package org.streamfusion.planning;

import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import org.streamfusion.InvalidConfigurationException;

/**
 * What the fused attention kernel computes per second on one GPU, by head width and by the size of one
 * launch: measured points, interpolated linearly in log(FLOPs per launch) between the points of the
 * nearest head width and held flat beyond them (a launch smaller than any measured one is charged the
 * smallest one's rate; the per-step and per-layer latencies of {@link CostModel} carry what small
 * launches lose).
 *
 * @param source where the points come from, as outputs name it
 * @param points the measured points, any order
 */
public record KernelThroughput(String source, List<Point> points) {
    /**
     * One measurement.
     *
     * @param headDim        D
     * @param launchFlops    4*B*H*Sq*Skv*D of the launch that was timed
     * @param flopsPerSecond what it reached
     */
    public record Point(int headDim, double launchFlops, double flopsPerSecond) {
        /**
         * Checks the point.
         *
         * @throws InvalidConfigurationException if {@code headDim} or {@code launchFlops} is not positive,
         *         or the rate is not positive and finite
         */
        public Point {
            if (headDim <= 0 || !(launchFlops > 0) || !(flopsPerSecond > 0) || Double.isInfinite(flopsPerSecond)) {
                throw new InvalidConfigurationException("kernel point D=" + headDim + " flops=" + launchFlops + " rate="
                        + flopsPerSecond, "D > 0, launch FLOPs > 0, 0 < rate < Infinity");
            }
        }
    }

    /**
     * Copies {@code points}.
     *
     * @throws InvalidConfigurationException if {@code source} is blank or there is no point
     */
    public KernelThroughput {
        if (source == null || source.isBlank() || points == null || points.isEmpty()) {
            throw new InvalidConfigurationException("kernel throughput '" + source + "' with points " + points,
                    "a named source and at least one point");
        }
        points = List.copyOf(points);
    }

    /**
     * One rate for every head width and size (an assumption, not a measurement).
     *
     * @param source         where the figure comes from, as outputs name it
     * @param flopsPerSecond the rate of every launch, positive and finite
     * @return a throughput of one point
     * @throws InvalidConfigurationException if {@code source} is blank or the rate is not positive and
     *         finite
     */
    public static KernelThroughput uniform(String source, double flopsPerSecond) {
        return new KernelThroughput(source, List.of(new Point(128, 1, flopsPerSecond)));
    }

    /**
     * FLOP/s of one launch of {@code launchFlops} at head width {@code headDim}.
     *
     * @param headDim     head width {@code D}; the points of the nearest measured width count (the
     *                    smaller on a tie)
     * @param launchFlops the launch's FLOPs, {@code 4*B*H*Sq*Skv*D}
     * @return the rate interpolated between that width's points, held flat beyond them
     */
    public double flopsPerSecond(int headDim, double launchFlops) {
        int nearest = points.stream().map(Point::headDim)
                .min(Comparator.comparingInt((Integer d) -> Math.abs(d - headDim)).thenComparingInt(d -> d)).orElseThrow();
        List<Point> row = points.stream().filter(p -> p.headDim() == nearest)
                .sorted(Comparator.comparingDouble(Point::launchFlops)).toList();
        Point first = row.getFirst();
        Point last = row.getLast();
        if (launchFlops <= first.launchFlops()) {
            return first.flopsPerSecond();
        }
        if (launchFlops >= last.launchFlops()) {
            return last.flopsPerSecond();
        }
        for (int i = 1; i < row.size(); i++) {
            Point a = row.get(i - 1);
            Point b = row.get(i);
            if (launchFlops <= b.launchFlops()) {
                double x = Math.log(launchFlops / a.launchFlops()) / Math.log(b.launchFlops() / a.launchFlops());
                return a.flopsPerSecond() + x * (b.flopsPerSecond() - a.flopsPerSecond());
            }
        }
        return last.flopsPerSecond();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(source).append(" [");
        for (Point p : points) {
            sb.append(String.format(Locale.ROOT, "%sD=%d %.3g FLOP: %.1f TFLOP/s", sb.charAt(sb.length() - 1) == '[' ? "" : "; ",
                    p.headDim(), p.launchFlops(), p.flopsPerSecond() / 1e12));
        }
        return sb.append(']').toString();
    }
}
