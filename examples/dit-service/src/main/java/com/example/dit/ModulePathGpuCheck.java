package com.example.dit;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;
import org.streamfusion.DType;
import org.streamfusion.StreamFusionException;
import org.streamfusion.Topology;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.TensorView;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cuda.NativeAccessException;
import org.streamfusion.gpu.DLPack;
import org.streamfusion.gpu.DLPackTensor;

/**
 * The GPU quick start as a named module on the module path, with the README's flags. On a GPU host it runs the
 * layer. Without a GPU the join must stop for that reason (a {@link StreamFusionException} naming the missing
 * device or library), never because the JVM refused native access; then a DLPack round trip through the CUDA module
 * (on CPU memory) makes the restricted calls of both library modules. With {@code --expect-refusal} (a JVM started
 * without the grant) both must fail with a {@link NativeAccessException} naming the flag.
 */
public final class ModulePathGpuCheck {
    static final String FLAG = "--enable-native-access=org.streamfusion.bindings,org.streamfusion.cuda";

    private ModulePathGpuCheck() {
    }

    public static void main(String[] args) {
        boolean expectRefusal = args.length > 0 && args[0].equals("--expect-refusal");
        if (!ModulePathGpuCheck.class.getModule().isNamed()) {
            throw new IllegalStateException("expected to run as the named module com.example.dit");
        }
        try {
            GpuQuickStart.main(new String[0]);
            if (expectRefusal) {
                throw new IllegalStateException("the layer ran without native access granted");
            }
            System.out.println("GPU quick start on the module path: PASS");
        } catch (StreamFusionException e) {
            requireRefusal(expectRefusal, "joining", e);
        }
        AtomicInteger deletes = new AtomicInteger();
        try (CpuWorld world = CpuWorld.create(Topology.of(1, 1))) {
            world.run(rank -> {
                try (DeviceArena arena = rank.newArena()) {
                    TensorView view = TensorView.contiguous(arena.allocate(4 * 2 * 8, DType.F32), 1, 4, 2, 8);
                    MemorySegment exported = DLPack.export(rank, view, deletes::incrementAndGet);
                    try (DLPackTensor back = DLPack.wrap(rank, exported)) {
                        if (back.view().rowStride() != view.rowStride() || back.view().rows() != view.rows()) {
                            throw new IllegalStateException("DLPack round trip changed the view: " + back.view());
                        }
                    }
                } catch (StreamFusionException e) {
                    requireRefusal(expectRefusal, "DLPack", e);
                    deletes.incrementAndGet(); // refused as expected: nothing was exported
                }
                return null;
            });
        }
        if (deletes.get() != 1) {
            throw new IllegalStateException("the exported tensor's deleter ran " + deletes.get() + " times, not once");
        }
        if (!expectRefusal) {
            System.out.println("DLPack round trip through the CUDA module on the module path: PASS (deleter once)");
        }
    }

    private static void requireRefusal(boolean expected, String what, StreamFusionException e) {
        boolean refused = false;
        for (Throwable t = e; t != null; t = t.getCause()) {
            refused |= t instanceof NativeAccessException || t instanceof IllegalCallerException;
        }
        if (expected) {
            if (!(e instanceof NativeAccessException) || !e.getMessage().contains(FLAG)) {
                throw new IllegalStateException(what + ": expected a NativeAccessException naming " + FLAG, e);
            }
            System.out.println(what + " without the grant, refused as expected: " + e.getMessage());
        } else if (refused) {
            throw new IllegalStateException(what + ": native access refused with the README's flags", e);
        } else if (what.equals("joining")) {
            System.out.println("no GPU here: the join got past native access and stopped at: " + e.getMessage());
        } else {
            throw e;
        }
    }
}
