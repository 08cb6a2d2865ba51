package org.streamfusion.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.streamfusion.StreamFusionException;

/**
 * A restricted call the JVM refuses becomes a {@link NativeAccessException} that names the flag for the way the
 * library runs (these tests run it as named modules), also when the refusal surfaces as a failed class
 * initialisation; anything else passes through unchanged. The refusal itself, in a JVM without the grant, is
 * checked by examples/dit-service (ModulePathGpuCheck --expect-refusal).
 */
class NativeAccessTest {
    private static final String MODULE_FLAG = "--enable-native-access=org.streamfusion.bindings,org.streamfusion.cuda";

    @Test
    void aRefusedCallNamesTheModulePathFlagAndIsAStreamFusionException() {
        assertEquals(MODULE_FLAG, NativeAccess.flag(), "the tests run the library as named modules");
        IllegalCallerException refusal = new IllegalCallerException("Illegal native access from module org.streamfusion.cuda");
        StreamFusionException e = assertThrows(NativeAccessException.class, () -> NativeAccess.call("sizing a pointer",
                () -> {
                    throw refusal;
                }));
        assertTrue(e.getMessage().startsWith("sizing a pointer needs native access") && e.getMessage().contains(MODULE_FLAG),
                e.getMessage());
        assertSame(refusal, e.getCause());
    }

    @Test
    void aRefusalInsideAClassInitialiserIsNamedTooAndOtherFailuresPassThrough() {
        ExceptionInInitializerError first = new ExceptionInInitializerError(new IllegalCallerException("refused"));
        assertThrows(NativeAccessException.class, () -> NativeAccess.call("loading", () -> {
            throw first;
        }));
        NoClassDefFoundError later = new NoClassDefFoundError("Could not initialize class Dlpack$shared");
        later.initCause(new ExceptionInInitializerError("Exception java.lang.IllegalCallerException: refused"));
        assertThrows(NativeAccessException.class, () -> NativeAccess.call("loading", () -> {
            throw later;
        }));
        NoClassDefFoundError missing = new NoClassDefFoundError("org/example/Missing");
        assertSame(missing, assertThrows(NoClassDefFoundError.class, () -> NativeAccess.call("loading", () -> {
            throw missing;
        })));
        assertEquals(42, NativeAccess.call("a call that needs nothing", () -> 42));
    }
}
