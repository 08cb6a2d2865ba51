package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.gpu.GpuOptions;

/**
 * The emulated inter-machine link on 2 GPUs as the logical topology 2x1 (each GPU its own machine): every
 * method on every valid mesh stays exact under each preset, and a timed put, get and send of 64 and 256 MiB
 * reach the configured bandwidth within 5% (EmulatedLinkCheck); on 1x2 the same link leaves them alone.
 */
@Tag("gpu")
class EmulatedLinkGpuTest {
    private static void twoGpus() {
        assumeTrue(CudaRuntime.isAvailable(), () -> "no GPU: " + CudaRuntime.unavailabilityCause().map(Throwable::getMessage).orElse(""));
        assumeTrue(CudaRuntime.deviceCount() >= 2, "needs 2 GPUs, has " + CudaRuntime.deviceCount());
    }

    private static Launcher.Result launch(String link, String... command) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        List<String> argv = new ArrayList<>(List.of("--nproc", "2", "--jvm-arg", "--enable-native-access=ALL-UNNAMED",
                "--jvm-arg", "-D" + GpuOptions.EMULATED_LINK_PROPERTY + "=" + link));
        argv.addAll(List.of(command));
        Launcher.Result r = Launcher.run(Launcher.Options.parse(argv), new PrintStream(buf, true, StandardCharsets.UTF_8));
        String console = buf.toString(StandardCharsets.UTF_8);
        System.out.println(console);
        return new Launcher.Result(r.exitCode(), r.failedRank(), r.failure() + "\n" + console);
    }

    private static void assertPassedOnBothRanks(Launcher.Result r) {
        assertEquals(0, r.exitCode(), r.failure());
        for (int rank = 0; rank < 2; rank++) {
            assertTrue(r.failure().contains("[rank " + rank + "] PASS rank " + rank), r.failure());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"rail-400G", "p4de-400G", "eth-100G", "unlimited", "p4de-400G/gpu-of-8"})
    void everyMethodOnEveryMeshStaysExactUnderTheLink(String link) {
        twoGpus();
        Launcher.Result r = launch(link, "check", "attention", "--topology", "2x1", "-S", "1024", "-H", "8", "-D", "64",
                "--reps", "2");
        assertPassedOnBothRanks(r);
        assertTrue(r.failure().contains("emulated inter-machine link " + link), r.failure());
    }

    @ParameterizedTest
    @ValueSource(strings = {"6.25,5,per-gpu", "12.5,5,per-gpu", "50,5,per-gpu"})
    void putGetAndSendAcrossMachinesReachTheConfiguredBandwidthWithinFivePercent(String link) {
        twoGpus();
        assertPassedOnBothRanks(launch(link, "check", "emulated-link", "--topology", "2x1", "--mib", "64,256", "--reps",
                "5"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"6.25,5,per-gpu"})
    void sameMachineTransfersAreNotSlowedByTheLink(String link) {
        twoGpus();
        assertPassedOnBothRanks(launch(link, "check", "emulated-link", "--topology", "1x2", "--mib", "256", "--reps", "5"));
    }
}
