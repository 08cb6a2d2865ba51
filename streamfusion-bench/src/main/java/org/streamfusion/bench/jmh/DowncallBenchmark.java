package org.streamfusion.bench.jmh;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.streamfusion.cuda.CudaEvent;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.cuda.CudaStream;

/**
 * The cost of a cheap CUDA downcall pair from Java (cudaEventRecord + cudaStreamWaitEvent through the
 * jextract bindings, return codes checked), to compare with the same pair called from C in the same
 * run ({@code streamfusion-bench/src/native/downcall_overhead.c}). Needs a GPU.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class DowncallBenchmark {
    private CudaStream stream;
    private CudaEvent event;

    @Setup(Level.Trial)
    public void setUp() {
        CudaRuntime.requireAvailable();
        CudaRuntime.setDevice(0);
        stream = CudaStream.create(true);
        event = CudaEvent.create(false);
    }

    @Benchmark
    public void eventRecordAndStreamWait() {
        event.record(stream);
        stream.waitFor(event);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        stream.synchronize();
        event.close();
        stream.close();
    }
}
