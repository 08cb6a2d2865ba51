package org.streamfusion.gpu;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.streamfusion.InvalidStateException;

/**
 * NVLink SHARP multicast (NVLS) off unless the process chose otherwise: on a shared host an NVLS setup can
 * take every GPU out of service, so a rank sets {@code NCCL_NVLS_ENABLE=0} and {@code NVSHMEM_DISABLE_NVLS=1}
 * in its own environment when they are absent, and logs it. Set either variable to keep your own value.
 *
 * <p>Why the C library's environment: NCCL and NVSHMEM read these with {@code getenv} when they initialise
 * (NCCL caches each parameter at its first read, during the first communicator's set-up; NVSHMEM reads its
 * options in {@code nvshmemx_hostlib_init_attr}), never from Java's copy. {@code setenv} before that moment
 * is therefore enough, and {@link CudaJoin} calls {@link #apply} before it makes any NCCL or NVSHMEM object.
 * {@link System#getenv} keeps showing the environment the JVM started with.
 */
final class NvlsDefaults {
    private static final Logger LOG = System.getLogger(NvlsDefaults.class.getName());
    /** The variables and the value each gets when absent, in the order they are set. */
    static final Map<String, String> DEFAULTS = Map.of("NCCL_NVLS_ENABLE", "0", "NVSHMEM_DISABLE_NVLS", "1");

    /** The process environment as NCCL and NVSHMEM see it. */
    interface ProcessVariables {
        /** {@return the variable's value, or null when unset} */
        String get(String name);

        /** Sets the variable unless it is set already. */
        void setIfAbsent(String name, String value);
    }

    private NvlsDefaults() {
    }

    /**
     * Sets each absent variable of {@link #DEFAULTS}.
     *
     * @return the variables that were set, as {@code NAME=value}, sorted
     */
    static List<String> apply(ProcessVariables variables) {
        List<String> set = new ArrayList<>();
        for (String name : DEFAULTS.keySet().stream().sorted().toList()) {
            String present = variables.get(name);
            if (present == null) {
                variables.setIfAbsent(name, DEFAULTS.get(name));
                set.add(name + "=" + DEFAULTS.get(name));
                LOG.log(Level.INFO, "Set {0}={1} for this process (NVLink multicast off; set {0} yourself to choose)",
                        name, DEFAULTS.get(name));
            } else {
                LOG.log(Level.DEBUG, "Kept {0}={1} from the process environment", name, present);
            }
        }
        return set;
    }

    /** The C library's environment ({@code getenv}/{@code setenv} of the process). */
    static ProcessVariables processEnvironment() {
        return Libc.INSTANCE;
    }

    /** getenv/setenv through the FFM linker; made on first use. */
    private static final class Libc implements ProcessVariables {
        static final Libc INSTANCE = new Libc();
        private final MethodHandle getenv;
        private final MethodHandle setenv;

        private Libc() {
            Linker linker = Linker.nativeLinker();
            var libc = linker.defaultLookup();
            var string = ADDRESS.withTargetLayout(MemoryLayout.sequenceLayout(Long.MAX_VALUE, JAVA_BYTE));
            getenv = linker.downcallHandle(libc.findOrThrow("getenv"), FunctionDescriptor.of(string, ADDRESS));
            setenv = linker.downcallHandle(libc.findOrThrow("setenv"),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        }

        @Override
        public String get(String name) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment value = (MemorySegment) getenv.invokeExact(arena.allocateFrom(name));
                return value.equals(MemorySegment.NULL) ? null : value.getString(0);
            } catch (Throwable t) {
                throw new InvalidStateException("reading " + name + " with getenv failed: " + t, t);
            }
        }

        @Override
        public void setIfAbsent(String name, String value) {
            int rc;
            try (Arena arena = Arena.ofConfined()) {
                rc = (int) setenv.invokeExact(arena.allocateFrom(name), arena.allocateFrom(value), 0);
            } catch (Throwable t) {
                throw new InvalidStateException("setting " + name + " with setenv failed: " + t, t);
            }
            if (rc != 0) {
                throw new InvalidStateException("setting " + name + "=" + value + " with setenv (overwrite 0) returned " + rc);
            }
        }
    }
}
