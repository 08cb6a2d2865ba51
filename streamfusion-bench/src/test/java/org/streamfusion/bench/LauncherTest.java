package org.streamfusion.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.launch.DistributedEnvironment;

class LauncherTest {
    private static Launcher.Result launch(int nproc, String... args) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Launcher.Options o = Launcher.Options.parse(new java.util.ArrayList<>(List.of("--nproc", String.valueOf(nproc),
                "--grace-s", "2", RendezvousProbe.class.getName())) {
            {
                addAll(List.of(args));
            }
        });
        Launcher.Result r = Launcher.run(o, new PrintStream(buf, true, StandardCharsets.UTF_8));
        return new Launcher.Result(r.exitCode(), r.failedRank(), r.failure() + "\n--- console ---\n"
                + buf.toString(StandardCharsets.UTF_8));
    }

    @Test
    void fourRanksRendezvousThroughTheStoreWithTheLauncherVariables() {
        Launcher.Result r = launch(4);
        assertEquals(0, r.exitCode(), r.failure());
        for (int rank = 0; rank < 4; rank++) {
            assertTrue(r.failure().contains("[rank " + rank + "] rank " + rank + "/4 local " + rank
                    + " got id-from-rank-0 world 4 NVLS 0/1"), r.failure());
        }
    }

    @Test
    void aRankThatExitsEarlyStopsTheJobWithinThirtySecondsWithItsMessage() {
        long start = System.nanoTime();
        Launcher.Result r = launch(4, "2");
        double seconds = (System.nanoTime() - start) / 1e9;
        assertEquals(3, r.exitCode(), r.failure());
        assertEquals(2, r.failedRank());
        assertTrue(r.failure().startsWith("rank 2 gives up: injected failure"), r.failure());
        assertTrue(seconds < 30, "took " + seconds + " s");
    }

    @Test
    void torchrunSlurmAndOpenMpiVariablesAreRead() {
        var torch = DistributedEnvironment.from(Map.of("RANK", "5", "WORLD_SIZE", "8", "LOCAL_RANK", "1",
                "LOCAL_WORLD_SIZE", "4", "MASTER_ADDR", "node0", "MASTER_PORT", "29500"));
        assertEquals(new DistributedEnvironment(5, 8, 1, 4, "node0", 29500, "torchrun variables"), torch);
        assertEquals(2, torch.nodes());
        var slurm = DistributedEnvironment.from(Map.of("SLURM_PROCID", "3", "SLURM_NTASKS", "8", "SLURM_LOCALID", "3",
                "SLURM_NTASKS_PER_NODE", "4(x2)", "MASTER_ADDR", "node0", "MASTER_PORT", "1234"));
        assertEquals(3, slurm.rank());
        assertEquals(4, slurm.localWorldSize());
        // Without --ntasks-per-node Slurm sets only SLURM_TASKS_PER_NODE; it is read first when both are set.
        var plain = DistributedEnvironment.from(Map.of("SLURM_PROCID", "5", "SLURM_NTASKS", "8", "SLURM_LOCALID", "1",
                "SLURM_TASKS_PER_NODE", "4(x2)", "MASTER_ADDR", "node0", "MASTER_PORT", "1234"));
        assertEquals(4, plain.localWorldSize());
        assertEquals(2, plain.nodes());
        var both = DistributedEnvironment.from(Map.of("SLURM_PROCID", "5", "SLURM_NTASKS", "8", "SLURM_LOCALID", "1",
                "SLURM_TASKS_PER_NODE", "2(x4)", "SLURM_NTASKS_PER_NODE", "4", "MASTER_ADDR", "node0", "MASTER_PORT",
                "1234"));
        assertEquals(2, both.localWorldSize());
        var mpi = DistributedEnvironment.from(Map.of("OMPI_COMM_WORLD_RANK", "7", "OMPI_COMM_WORLD_SIZE", "16",
                "OMPI_COMM_WORLD_LOCAL_RANK", "7", "OMPI_COMM_WORLD_LOCAL_SIZE", "8", "MASTER_ADDR", "10.0.0.1", "MASTER_PORT",
                "1"));
        assertEquals(7, mpi.rank());
        assertEquals(2, mpi.nodes());
    }

    @Test
    void slurmTaskCountsPerNodeMustBeOneCountAndTheSameOnEveryNode() {
        java.util.function.Function<String, DistributedEnvironment> slurm = perNode -> DistributedEnvironment.from(
                Map.of("SLURM_PROCID", "3", "SLURM_NTASKS", "8", "SLURM_LOCALID", "3", "SLURM_NTASKS_PER_NODE", perNode,
                        "MASTER_ADDR", "node0", "MASTER_PORT", "1234"));
        for (String same : new String[] {"4", " 4 ", "4(x2)", "4,4", "4(x1),4"}) {
            assertEquals(4, slurm.apply(same).localWorldSize(), same);
        }
        for (String mixed : new String[] {"4,2", "2(x3),1", "4(x1),4,2"}) {
            var e = org.junit.jupiter.api.Assertions.assertThrows(InvalidConfigurationException.class,
                    () -> slurm.apply(mixed));
            assertTrue(e.getMessage().startsWith("SLURM_NTASKS_PER_NODE=" + mixed + " gives nodes different task counts"),
                    e.getMessage());
            assertTrue(e.rule().contains("the same N on every node"), e.rule());
        }
        for (String bad : new String[] {"four", "", "4,", "4(x)", "-4", "99999999999"}) {
            var e = org.junit.jupiter.api.Assertions.assertThrows(InvalidConfigurationException.class,
                    () -> slurm.apply(bad), bad);
            assertEquals("SLURM_NTASKS_PER_NODE=" + bad + " is not a task count (rule: " + e.rule() + ")", e.getMessage());
        }
    }

    @Test
    void inconsistentLauncherVariablesAreRejectedByName() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(InvalidConfigurationException.class,
                () -> DistributedEnvironment.from(Map.of("RANK", "8", "WORLD_SIZE", "8", "MASTER_PORT", "1")));
        assertTrue(e.getMessage().contains("rank=8 of world size 8"), e.getMessage());
        var missing = org.junit.jupiter.api.Assertions.assertThrows(InvalidConfigurationException.class,
                () -> DistributedEnvironment.from(Map.of("RANK", "0", "WORLD_SIZE", "2")));
        assertTrue(missing.getMessage().contains("MASTER_PORT is not set"), missing.getMessage());
    }

    @Test
    void aStoreWaitForAKeyNobodySetsTimesOutNamingRankAndKey() {
        try (var store = org.streamfusion.launch.KeyValueStore.connect(0, "127.0.0.1", 0,
                org.streamfusion.launch.StoreSecret.generate(), Duration.ofMillis(300),
                org.streamfusion.launch.StoreLimits.defaults())) {
            var e = org.junit.jupiter.api.Assertions.assertThrows(org.streamfusion.CommunicationTimeoutException.class,
                    () -> store.get("nccl-unique-id"));
            assertEquals(0, e.rank());
            assertTrue(e.getMessage().contains("'rendezvous key 'nccl-unique-id''"), e.getMessage());
        }
    }

    @Test
    void graceAndPortOutOfRangeAreRefusedAndAMultiNodeJobNeedsASharedSecret() {
        var grace = org.junit.jupiter.api.Assertions.assertThrows(InvalidConfigurationException.class,
                () -> new Launcher.Options(1, 1, 0, "127.0.0.1", 0, Duration.ofSeconds(Long.MAX_VALUE), List.of(), "X",
                        List.of()));
        assertEquals("--grace-s " + Long.MAX_VALUE + " (rule: 0 <= grace-s <= 3600)", grace.getMessage());
        var port = org.junit.jupiter.api.Assertions.assertThrows(InvalidConfigurationException.class,
                () -> new Launcher.Options(1, 1, 0, "127.0.0.1", 70_000, Duration.ofSeconds(1), List.of(), "X", List.of()));
        assertTrue(port.getMessage().startsWith("--master-port 70000"), port.getMessage());
        var procs = org.junit.jupiter.api.Assertions.assertThrows(InvalidConfigurationException.class,
                () -> new Launcher.Options(100_000, 1, 0, "127.0.0.1", 0, Duration.ofSeconds(1), List.of(), "X", List.of()));
        assertTrue(procs.getMessage().startsWith("--nproc 100000 --nnodes 1 --node-rank 0 (rule: 0 < nproc <= 1024"),
                procs.getMessage());
        var twoNodes = new Launcher.Options(1, 2, 0, "node0", 29500, Duration.ofSeconds(1), List.of(), "X", List.of());
        var secret = org.junit.jupiter.api.Assertions.assertThrows(InvalidConfigurationException.class,
                () -> Launcher.jobSecret(twoNodes, Map.of()));
        assertTrue(secret.getMessage().startsWith("STREAMFUSION_STORE_SECRET is not set"), secret.getMessage());
    }
}
