package org.streamfusion.gpu;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** NVLink multicast off unless the process chose: set when absent, kept when present. */
class NvlsDefaultsTest {

    private static NvlsDefaults.ProcessVariables map(Map<String, String> variables) {
        return new NvlsDefaults.ProcessVariables() {
            @Override
            public String get(String name) {
                return variables.get(name);
            }

            @Override
            public void setIfAbsent(String name, String value) {
                variables.putIfAbsent(name, value);
            }
        };
    }

    @Test
    void absentVariablesAreSetToTurnMulticastOff() {
        Map<String, String> variables = new HashMap<>();
        assertEquals(List.of("NCCL_NVLS_ENABLE=0", "NVSHMEM_DISABLE_NVLS=1"), NvlsDefaults.apply(map(variables)));
        assertEquals(Map.of("NCCL_NVLS_ENABLE", "0", "NVSHMEM_DISABLE_NVLS", "1"), variables);
        assertEquals(List.of(), NvlsDefaults.apply(map(variables)), "a second join sets nothing");
    }

    @Test
    void aValueTheProcessChoseIsKept() {
        Map<String, String> variables = new HashMap<>(Map.of("NCCL_NVLS_ENABLE", "1"));
        assertEquals(List.of("NVSHMEM_DISABLE_NVLS=1"), NvlsDefaults.apply(map(variables)));
        assertEquals("1", variables.get("NCCL_NVLS_ENABLE"));
    }

    /** The C library's environment, which NCCL and NVSHMEM read (no GPU needed). */
    @Test
    void theProcessEnvironmentIsTheOneGetenvReads() {
        var environment = NvlsDefaults.processEnvironment();
        String name = "STREAMFUSION_TEST_" + UUID.randomUUID().toString().replace('-', '_');
        assertNull(environment.get(name));
        environment.setIfAbsent(name, "first");
        assertEquals("first", environment.get(name));
        environment.setIfAbsent(name, "second");
        assertEquals("first", environment.get(name), "setIfAbsent never overwrites");
        assertNull(System.getenv(name), "Java's copy is the environment the JVM started with");
    }
}
