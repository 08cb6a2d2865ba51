package org.streamfusion.bench;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.DeviceMesh;
import org.streamfusion.DistributedAttention;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.backend.Stream;
import org.streamfusion.backend.TensorView;
import org.streamfusion.cpu.ReferenceAttention;
import org.streamfusion.cpu.ShardedAttention;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.cuda.DeviceMemory;
import org.streamfusion.gpu.CudaRankDevice;
import org.streamfusion.gpu.DLPack;
import org.streamfusion.gpu.DLPackTensor;
import org.streamfusion.gpu.GpuOptions;
import org.streamfusion.gpu.HostTransfer;
import org.streamfusion.launch.DistributedEnvironment;
import org.streamfusion.planning.Planner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * One rank of a GPU job (docs/embedding.md): every method's best mesh on {@code 1xN}, run on memory and a
 * stream the caller allocated itself (Q, K, V strided in one fused {@code [B, shardRows, 3, H, D]} bf16 buffer, O in
 * another), checked against float64 attention; then each misuse of a caller's tensor or stream, which must be
 * refused with the value and the rule. Each layer's Flight Recorder event must count exactly the method's own
 * copies.
 *
 * <p>{@code streamfusion check caller-tensors}.
 */
@Command(name = "caller-tensors",
        description = "Every method on the caller's own memory and stream; every misuse refused.")
final class CallerTensorsCheck implements Callable<Integer> {
    @Mixin
    ShapeOptions size = new ShapeOptions(4096, 8, 128);

    @Option(names = "--dtype", defaultValue = "BF16", description = "element type: BF16 or F16 (default: ${DEFAULT-VALUE})")
    DType dtype;

    @Spec
    CommandSpec command;

    /**
     * Runs this rank; prints PASS or FAIL.
     *
     * @return 0 on PASS, 1 on FAIL
     * @throws java.io.IOException if the layer events' recording cannot be written or read
     */
    @Override
    public Integer call() throws IOException {
        if (dtype != DType.BF16 && dtype != DType.F16) {
            throw new ParameterException(command.commandLine(), "--dtype " + dtype + ": a caller's tensors are BF16 or F16");
        }
        DistributedEnvironment env = RankContext.environment();
        int n = env.worldSize();
        Topology topo = Topology.of(1, n);
        AttentionShape shape = size.shape(1, dtype);
        int h = shape.heads();
        int d = shape.headDim();
        int rank = env.rank();
        int sl = shape.shardRows(n, rank);
        long tokenElems = 3L * h * d;
        List<String> failures = new ArrayList<>();
        try (CudaRankDevice dev = RankContext.join(env, topo, GpuOptions.defaults().withPoison(true));
                Arena host = Arena.ofConfined();
                DeviceMemory qkv = DeviceMemory.allocate(sl * tokenElems * 2);
                DeviceMemory out = DeviceMemory.allocate((long) sl * h * d * 2);
                CudaStream mine = CudaStream.create()) {
            float[][] global = GpuCheck.inputs(shape, 20261202L);
            double[] ref = GpuCheck.localReference(shape, global, n, rank);
            MemorySegment staging = host.allocate(sl * tokenElems * 2, 16);
            for (int t = 0; t < 3; t++) {
                float[] shard = ShardedAttention.shard(global[t], shape, n, rank);
                for (int token = 0; token < sl; token++) {
                    for (int i = 0; i < h * d; i++) {
                        staging.setAtIndex(ValueLayout.JAVA_SHORT, token * tokenElems + (long) t * h * d + i,
                                bits(shard[token * h * d + i], dtype));
                    }
                }
            }
            qkv.copyFrom(staging);
            TensorView[] x = new TensorView[3];
            for (int t = 0; t < 3; t++) {
                x[t] = dev.wrap(qkv.slice((long) t * h * d * 2, qkv.byteSize() - (long) t * h * d * 2), dtype, 1, sl,
                        h, d, sl * tokenElems, tokenElems, d);
            }
            TensorView o = dev.wrap(out.segment(), dtype, 1, sl, h, d);
            Stream caller = dev.wrapStream(mine.handle());
            if (dev.wrapStream(mine.handle()) != caller) {
                failures.add("wrapping the same stream twice gave two objects");
            }
            // The layer events say how many copies each layer enqueued: they must be the method's own.
            Map<String, Long> ownCopies = new HashMap<>();
            int layers = 0; // every forward below is one layer event (two of them share STREAMFUSION's mesh)
            Recording recording = new Recording();
            recording.enable("org.streamfusion.Layer").withoutThreshold();
            recording.start();
            for (Method m : Method.values()) {
                Plan plan = Planner.withDefaults().best(shape, topo, m);
                ownCopies.put(plan.mesh().toString(), ownCopies(plan));
                try (DistributedAttention attn = DistributedAttention.create(plan, dev)) {
                    out.fill((byte) 0xFF, mine); // NaN: a layer that wrote nothing shows
                    attn.forward(x[0], x[1], x[2], o, caller);
                    layers++;
                    mine.synchronize(); // the caller's own stream: o must be complete on it
                    checkOutput(failures, "caller memory and stream, " + plan, out, host, ref);
                }
            }
            // The same layer with Q from a raw address and O through DLPack, as another framework hands them over.
            AtomicInteger deletes = new AtomicInteger();
            TensorView rawQ = dev.wrap(qkv.segment().address(), qkv.byteSize(), dtype, 1, sl, h, d, sl * tokenElems,
                    tokenElems, d);
            Plan fused = Planner.withDefaults().best(shape, topo, Method.STREAMFUSION);
            try (DLPackTensor dlpackO = DLPack.wrap(dev, DLPack.export(dev, o, deletes::incrementAndGet));
                    DistributedAttention attn = DistributedAttention.create(fused, dev)) {
                out.fill((byte) 0xFF, mine);
                attn.forward(rawQ, x[1], x[2], dlpackO.view(), caller);
                layers++;
                mine.synchronize();
                checkOutput(failures, "raw-address Q and DLPack O, " + fused, out, host, ref);
            }
            if (deletes.get() != 1) {
                failures.add("the exported O's deleter ran " + deletes.get() + " times, not once");
            }
            recording.stop();
            Path jfr = Files.createTempFile("caller-tensors", ".jfr");
            recording.dump(jfr);
            recording.close();
            List<RecordedEvent> events = RecordingFile.readAllEvents(jfr).stream()
                    .filter(e -> e.getEventType().getName().equals("org.streamfusion.Layer"))
                    // On an in-process world every rank's recording also sees its peers' layers.
                    .filter(e -> e.getInt("rank") == rank).toList();
            Files.delete(jfr);
            if (events.size() != layers) {
                failures.add(events.size() + " layer events for " + layers + " layers");
            }
            for (RecordedEvent e : events) {
                long own = ownCopies.getOrDefault(e.getString("mesh"), -1L);
                System.out.printf(Locale.ROOT, "copies enqueued, %s: %d (the method's own: %d), %d bytes%n",
                        e.getString("mesh"), e.getLong("copies"), own, e.getLong("copyBytes"));
                if (e.getLong("copies") != own) {
                    failures.add(e.getString("mesh") + ": " + e.getLong("copies") + " copies enqueued, the method's own are "
                            + own);
                }
            }
            MemorySegment hostMemory = host.allocate(1 << 20, 16);
            refused(failures, "host memory", () -> dev.wrap(hostMemory, DType.BF16, 1, 4, h, d), "UNREGISTERED",
                    "device (or managed) memory");
            refused(failures, "misaligned", () -> dev.wrap(out.slice(2, 4096), DType.BF16, 1, 1, 1, d), "not 16-byte",
                    "16-byte boundary");
            refused(failures, "too small", () -> dev.wrap(out.slice(0, 256), DType.BF16, 1, 4, h, d), "needs",
                    "fits its memory");
            refused(failures, "stride", () -> dev.wrap(out.segment(), DType.BF16, 1, 2, 1, d, 4096, 132, d), "row stride 132",
                    "multiples of 8");
            refused(failures, "fp32", () -> dev.wrap(out.segment(), DType.F32, 1, 1, 1, d), "dtype F32", "BF16 or F16");
            if (CudaRuntime.deviceCount() > 1) {
                int other = (dev.cudaDevice() + 1) % CudaRuntime.deviceCount();
                CudaRuntime.setDevice(other);
                try (DeviceMemory elsewhere = DeviceMemory.allocate(1 << 20); CudaStream otherStream = CudaStream.create()) {
                    CudaRuntime.setDevice(dev.cudaDevice());
                    refused(failures, "another device's memory", () -> dev.wrap(elsewhere.segment(), DType.BF16, 1, 4, h, d),
                            "is on device " + other, "its rank's GPU");
                    refused(failures, "another device's stream", () -> dev.wrapStream(otherStream.handle()),
                            "belongs to device " + other, "its rank's GPU");
                }
            }
        }
        failures.forEach(f -> System.out.println("FAILED: " + f));
        System.out.println((failures.isEmpty() ? "PASS" : "FAIL") + " rank " + rank);
        return failures.isEmpty() ? 0 : 1;
    }

    /**
     * The copies a method itself enqueues per layer (docs/embedding.md): Q, K, V packed and O unpacked per head
     * group a rank exchanges; with u = 1 the Ulysses and ring methods pack K and V only.
     */
    private static long ownCopies(Plan plan) {
        DeviceMesh mesh = plan.mesh();
        boolean torus = plan.method() == Method.TORUS_TWO_SIDED || plan.method() == Method.STREAMFUSION;
        return torus ? 4L * mesh.ulysses() * mesh.torus() : mesh.ulysses() > 1 ? 4L * mesh.ulysses() : 2;
    }

    /** Reads {@code out} back and compares it with the float64 reference. */
    private void checkOutput(List<String> failures, String what, DeviceMemory out, Arena host, double[] ref) {
        MemorySegment back = host.allocate(out.byteSize(), 16);
        out.copyTo(back);
        float[] got = new float[Math.toIntExact(out.byteSize() / 2)];
        for (int i = 0; i < got.length; i++) {
            short b = back.getAtIndex(ValueLayout.JAVA_SHORT, i);
            got[i] = dtype == DType.F16 ? Float.float16ToFloat(b) : HostTransfer.fromBf16(b);
        }
        double err = ReferenceAttention.relativeError(got, ref);
        System.out.printf(Locale.ROOT, "%s: rel.err %.2e%n", what, err);
        if (!(err <= GpuCheck.TOLERANCE)) {
            failures.add(what + ": error " + err);
        }
    }

    private static short bits(float x, DType dtype) {
        return dtype == DType.F16 ? Float.floatToFloat16(x) : HostTransfer.toBf16(x);
    }

    private static void refused(List<String> failures, String what, Supplier<Object> call, String value, String rule) {
        try {
            call.get();
            failures.add(what + " was accepted");
        } catch (InvalidConfigurationException e) {
            if (!e.getMessage().contains(value) || !e.rule().contains(rule)) {
                failures.add(what + ": '" + e.getMessage() + "' / '" + e.rule() + "' lacks '" + value + "' or '" + rule + "'");
            } else {
                System.out.println("refused as it should be: " + what + ": " + e.getMessage());
            }
        }
    }
}
