package org.streamfusion.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.streamfusion.InvalidConfigurationException;

/** The launcher variables are read strictly: every quirk is refused naming the variable, the value and the rule. */
class DistributedEnvironmentTest {
    private static Map<String, String> torchrun(String... overrides) {
        Map<String, String> env = new HashMap<>(Map.of("RANK", "5", "WORLD_SIZE", "8", "LOCAL_RANK", "1",
                "LOCAL_WORLD_SIZE", "4", "MASTER_ADDR", "node0", "MASTER_PORT", "29500"));
        for (int i = 0; i < overrides.length; i += 2) {
            if (overrides[i + 1] == null) {
                env.remove(overrides[i]);
            } else {
                env.put(overrides[i], overrides[i + 1]);
            }
        }
        return env;
    }

    private static String refused(Map<String, String> env) {
        return assertThrows(InvalidConfigurationException.class, () -> DistributedEnvironment.from(env), env::toString)
                .getMessage();
    }

    @Test
    void numbersAreAsciiDigitsOnly() {
        assertEquals(5, DistributedEnvironment.from(torchrun("RANK", " 5 ")).rank());
        // Arabic-Indic five, full-width five, a sign, an exponent, past 2^31-1: Integer.parseInt took the first three.
        for (String bad : new String[] {"\u0665", "\uFF15", "+5", "5e0", "2147483648", "", "0x5"}) {
            String m = refused(torchrun("RANK", bad));
            assertTrue(m.startsWith("RANK=" + bad + " is not an integer (rule: RANK is ASCII digits 0-9"), m);
        }
        assertTrue(refused(torchrun("MASTER_PORT", "\u0662\u0669\u0665\u0660\u0660")).startsWith("MASTER_PORT="));
    }

    @Test
    void masterAddrIsAHostNameOrAnAddress() {
        for (String good : new String[] {"node0", "gpu-12.cluster.example", "10.1.2.3", "::1", "fe80::1", "localhost"}) {
            assertEquals(good, DistributedEnvironment.from(torchrun("MASTER_ADDR", good)).masterAddr());
        }
        for (String bad : new String[] {"", " ", "node0:29500", "node0\n", "no de", "-node", "node_0", "a..b", "x".repeat(254)}) {
            String m = refused(torchrun("MASTER_ADDR", bad));
            assertTrue(m.startsWith("MASTER_ADDR='") && m.contains("(rule: MASTER_ADDR is a host name or an IP address"), m);
            assertTrue(!m.contains("\n"), "the message shows a newline escaped: " + m);
        }
        String missing = refused(torchrun("MASTER_ADDR", null));
        assertTrue(missing.startsWith("MASTER_ADDR is not set for a job on 2 hosts"), missing);
        assertEquals("127.0.0.1", DistributedEnvironment.from(torchrun("MASTER_ADDR", null, "RANK", "1", "WORLD_SIZE", "4"))
                .masterAddr());
    }

    @Test
    void aPartialSetNamesTheMissingVariable() {
        assertTrue(refused(torchrun("WORLD_SIZE", null)).startsWith("WORLD_SIZE is not set, but other torchrun variables"));
        assertTrue(refused(torchrun("RANK", null)).startsWith("RANK is not set, but other torchrun variables"));
        assertTrue(refused(torchrun("LOCAL_WORLD_SIZE", null)).startsWith("LOCAL_WORLD_SIZE is not set"));
        // RANK without WORLD_SIZE does not fall through to Slurm's variables.
        Map<String, String> mixed = torchrun("WORLD_SIZE", null);
        mixed.putAll(Map.of("SLURM_PROCID", "5", "SLURM_NTASKS", "8", "SLURM_LOCALID", "1"));
        assertTrue(refused(mixed).startsWith("WORLD_SIZE is not set"));
        assertTrue(refused(Map.of("SLURM_PROCID", "0", "SLURM_LOCALID", "0", "MASTER_PORT", "1"))
                .startsWith("SLURM_NTASKS is not set, but other Slurm variables are"));
        assertTrue(refused(Map.of("OMPI_COMM_WORLD_RANK", "0", "OMPI_COMM_WORLD_SIZE", "1", "MASTER_PORT", "1"))
                .startsWith("OMPI_COMM_WORLD_LOCAL_RANK is not set"));
    }

    @Test
    void rankAndLocalRankAgreeOnTheBlockPlacement() {
        String m = refused(torchrun("LOCAL_RANK", "2"));
        assertTrue(m.startsWith("local rank 2 of rank 5 with 4 per host") && m.contains("rule: local rank == rank mod"), m);
        String cyclic = refused(Map.of("SLURM_PROCID", "1", "SLURM_NTASKS", "8", "SLURM_LOCALID", "0",
                "SLURM_TASKS_PER_NODE", "4(x2)", "MASTER_ADDR", "node0", "MASTER_PORT", "1234"));
        assertTrue(cyclic.contains("--distribution=block"), cyclic);
    }

    @Test
    void slurmPerNodeCountsAddUpToTheTaskCount() {
        java.util.function.Function<String, Map<String, String>> slurm = perNode -> Map.of("SLURM_PROCID", "3",
                "SLURM_NTASKS", "8", "SLURM_LOCALID", "3", "SLURM_TASKS_PER_NODE", perNode, "MASTER_ADDR", "node0",
                "MASTER_PORT", "1234");
        assertEquals(4, DistributedEnvironment.from(slurm.apply("4(x2)")).localWorldSize());
        assertEquals(4, DistributedEnvironment.from(slurm.apply("4,4")).localWorldSize());
        for (String bad : new String[] {"4(x3)", "4(x1)", "4", "4(x2),4"}) {
            String m = refused(slurm.apply(bad));
            assertTrue(m.startsWith("SLURM_TASKS_PER_NODE=" + bad + " adds up to ") && m.contains("SLURM_NTASKS=8"), m);
        }
    }
}
