package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.Topology;
import picocli.CommandLine;

/** The GPU checks' options, parsed and refused without a GPU: named, never silently taken as something else. */
class BenchArgumentsTest {
    /** The check {@code streamfusion check NAME ARGS} would run, its options filled. */
    @SuppressWarnings("unchecked")
    private static <T> T parsed(String... args) {
        CommandLine.ParseResult r = Main.commandLine().parseArgs(args);
        while (r.hasSubcommand()) {
            r = r.subcommand();
        }
        return (T) r.commandSpec().userObject();
    }

    /** What {@code check attention} runs, as its options say, on 4 ranks. */
    record Attention(Topology topology, AttentionShape shape, int reps, boolean check, GpuCheck.Compression compression,
            GpuCheck.QkvMode qkv) {
        static Attention of(GpuCheck c) {
            return new Attention(c.layer.topology(4), c.layer.shape(), c.layer.reps(), c.check, c.compression, c.qkv);
        }
    }

    @Test
    void theAttentionCheckTakesNamedOptionsWithTheirDefaults() {
        assertEquals(new Attention(Topology.of(1, 4), AttentionShape.of(1, 4096, 8, 128, DType.BF16), 20, true,
                GpuCheck.Compression.EXACT, GpuCheck.QkvMode.AUTO), Attention.of(parsed("check", "attention")));
        assertEquals(new Attention(Topology.of(2, 2), AttentionShape.of(1, 8192, 24, 64, DType.BF16), 3, false,
                GpuCheck.Compression.FP8, GpuCheck.QkvMode.BOTH), Attention.of(parsed("check", "attention", "--topology",
                "2x2", "-S", "8192", "--heads", "24", "-D", "64", "--reps", "3", "--no-check", "--compression", "fp8",
                "--qkv", "both")));
    }

    @Test
    void aValueOutsideAnOptionsChoicesIsAUsageErrorListingThem() {
        for (String[] bad : List.of(new String[] {"--qkv", "grouped"}, new String[] {"--compression", "int4"})) {
            CommandLineTest.Run r = CommandLineTest.run("check", "attention", bad[0], bad[1]);
            assertEquals(2, r.code(), r.toString());
            assertTrue(r.err().startsWith("Invalid value for option '" + bad[0] + "': expected one of ["), r.toString());
            assertTrue(r.err().lines().findFirst().orElseThrow().contains("but was '" + bad[1] + "'"), r.toString());
        }
        CommandLineTest.Run notANumber = CommandLineTest.run("check", "graphs", "--seq", "4k");
        assertEquals(2, notANumber.code(), notANumber.toString());
        assertTrue(notANumber.err().startsWith("Invalid value for option '--seq': '4k' is not an int"), notANumber.toString());
    }

    @Test
    void theOneLayerChecksShareTheirOptionsEachWithItsOwnDefaults() {
        GraphCheck graphs = parsed("check", "graphs");
        assertEquals(Topology.of(1, 2), graphs.layer.topology(2));
        assertEquals(AttentionShape.of(1, 4608, 24, 128, DType.BF16), graphs.layer.shape());
        assertEquals(20, graphs.layer.reps());
        assertEquals(10_000, graphs.replays);
        QkvExchangeCheck qkv = parsed("check", "qkv-exchange", "-t", "2x1", "-S", "16896", "-H", "8", "-D", "64");
        assertEquals(Topology.of(2, 1), qkv.layer.topology(2));
        assertEquals(AttentionShape.of(1, 16896, 8, 64, DType.BF16), qkv.layer.shape());
        assertEquals(40, qkv.layer.reps());
        KernelFloorCheck floor = parsed("check", "kernel-floor");
        assertEquals(Topology.of(1, 2), floor.layer.topology(1));
    }

    @Test
    void aCountBelowItsMinimumIsRefusedBeforeJoiningAJob() {
        // No launcher variables here: a check that got as far as joining would fail differently.
        for (String check : List.of("attention", "graphs", "qkv-exchange", "kernel-floor")) {
            CommandLineTest.Run r = CommandLineTest.run("check", check, "--reps", "0");
            assertEquals(2, r.code(), r.toString());
            assertTrue(r.err().startsWith("--reps 0 must be at least 1\n"), check + ": " + r);
        }
        CommandLineTest.Run replays = CommandLineTest.run("check", "graphs", "--replays", "-1");
        assertEquals(2, replays.code(), replays.toString());
        assertTrue(replays.err().startsWith("--replays -1 must be at least 0\n"), replays.toString());
        CommandLineTest.Run dtype = CommandLineTest.run("check", "caller-tensors", "--dtype", "f32");
        assertEquals(2, dtype.code(), dtype.toString());
        assertTrue(dtype.err().startsWith("--dtype F32: a caller's tensors are BF16 or F16\n"), dtype.toString());
    }

    @Test
    void theTransferAndCallerChecksTakeNamedOptions() {
        AllToAllBandwidth a2a = parsed("check", "all-to-all", "--mib", "4,16", "--reps", "3", "--jit-warmup", "5");
        assertEquals(List.of(4L, 16L), a2a.transfers.sizesMib);
        assertEquals(3, a2a.transfers.reps);
        assertEquals(5, a2a.jitWarmup);
        assertEquals("1xN", a2a.transfers.topology);
        EmulatedLinkCheck link = parsed("check", "emulated-link", "--topology", "1x2", "--mib", "256");
        assertEquals("1x2", link.transfers.topology);
        assertEquals(List.of(256L), link.transfers.sizesMib);
        assertEquals(5, link.transfers.reps);
        CallerTensorsCheck caller = parsed("check", "caller-tensors", "-S", "2048", "--dtype", "f16");
        assertEquals(AttentionShape.of(1, 2048, 8, 128, DType.F16), caller.size.shape(1, caller.dtype));
        JointCheck joint = parsed("check", "joint", "-S", "4097", "--text", "300", "-H", "8", "-D", "128");
        assertEquals(300, joint.textLen);
        assertEquals(AttentionShape.of(2, 4097, 8, 128, DType.BF16), joint.size.shape(2, DType.BF16));
        CommandLine.ParameterException e = assertThrows(CommandLine.ParameterException.class,
                () -> Main.commandLine().parseArgs("check", "communicator", "--reps", "3"));
        assertTrue(e.getMessage().startsWith("Unknown option") && e.getMessage().contains("'--reps'"), e.getMessage());
    }

    @Test
    void aMedianOfFewerThanOneRoundIsRefusedBeforeAnythingRuns() {
        for (int reps : new int[] {0, -1}) {
            var e = assertThrows(IllegalArgumentException.class, () -> LayerTiming.medianRoundMillis(() -> {
                throw new AssertionError("ran a round");
            }, () -> {
                throw new AssertionError("ran the barrier");
            }, null, reps, 1));
            assertEquals("reps=" + reps + ": a median needs at least one timed round", e.getMessage());
        }
    }
}
