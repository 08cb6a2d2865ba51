package org.streamfusion.bench.jmh;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.planning.Planner;
import org.streamfusion.sim.SimulatedTime;
import org.streamfusion.sim.Simulator;

/**
 * One simulated layer of one mesh on the default profile, recording and resolution both: by default the
 * heaviest mesh the planner meets on 64x8 ({@code STREAMFUSION} t=8, u'=1, r=64, 3.5 million ops) at the docs'
 * largest layer (S=1048576, H=24, D=64) and at S=65536, D=128. A warmed-up JVM: a fresh one ({@code plan --mesh})
 * also pays for compiling the schedules and the engine (docs/results/planner.md).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class SimulatorBenchmark {
    @Param({"64x8"})
    public String topology;

    @Param({"STREAMFUSION"})
    public Method method;

    /** {@code t/u/r}, with '/' since JMH splits a parameter's values at commas. */
    @Param({"8/1/64"})
    public String mesh;

    /** {@code S:D} (24 heads). */
    @Param({"1048576:64", "65536:128"})
    public String layer;

    private Simulator simulator;
    private Plan plan;

    @Setup(Level.Trial)
    public void setUp() {
        String[] sd = layer.split(":");
        AttentionShape shape = AttentionShape.of(1, Integer.parseInt(sd[0]), 24, Integer.parseInt(sd[1]), DType.BF16);
        plan = JmhLayers.plan(topology, method, mesh, shape);
        simulator = Simulator.of(Planner.withDefaults().profile(), plan.mesh().topology());
    }

    @Benchmark
    public SimulatedTime simulate() {
        return simulator.simulate(plan);
    }
}
