package org.streamfusion.cuda;

import java.util.function.Supplier;

/**
 * The one place that turns a restricted call the JVM refuses ({@link IllegalCallerException}, thrown under
 * {@code --illegal-native-access=deny} when the calling module has no native access) into a
 * {@link NativeAccessException} naming the flag. The flag depends on how the library runs: as named modules
 * ({@code org.streamfusion.cuda} calls {@code System.load} and sizes pointers, {@code org.streamfusion.bindings}
 * makes the downcalls) or on the class path ({@code ALL-UNNAMED}).
 */
public final class NativeAccess {
    /** The library's modules that make restricted calls, as the flag lists them. */
    static final String MODULES = "org.streamfusion.bindings,org.streamfusion.cuda";

    private NativeAccess() {
    }

    /** {@return the flag that grants this JVM's copy of the library native access} */
    public static String flag() {
        return "--enable-native-access=" + modules();
    }

    static String modules() {
        return NativeAccess.class.getModule().isNamed() ? MODULES : "ALL-UNNAMED";
    }

    /**
     * Runs {@code restricted}, a call that may make a restricted call, translating the JVM's refusal.
     *
     * @param <T>        what it returns
     * @param what       what the call does, for the message, e.g. {@code "wrapping a device pointer"}
     * @param restricted the call
     * @return its result
     * @throws NativeAccessException naming the flag when the JVM refuses a restricted call in it (also when the
     *         refusal surfaces while a bindings class initialises)
     */
    public static <T> T call(String what, Supplier<T> restricted) {
        try {
            return restricted.get();
        } catch (IllegalCallerException e) {
            throw new NativeAccessException(what, flag(), e);
        } catch (LinkageError e) {
            if (refused(e)) {
                throw new NativeAccessException(what, flag(), e);
            }
            throw e;
        }
    }

    /**
     * Whether {@code failure} is the JVM refusing a restricted call: an {@link IllegalCallerException} in its
     * chain, or one that a bindings class's failed initialisation names (ExceptionInInitializerError the first
     * time, then NoClassDefFoundError whose cause names the original exception only in its message).
     */
    static boolean refused(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof IllegalCallerException
                    || String.valueOf(t.getMessage()).contains(IllegalCallerException.class.getName())) {
                return true;
            }
        }
        return false;
    }

    /** {@return {@code failure} as the refusal it is, naming the flag; else {@code failure} itself} */
    static Throwable named(String what, Throwable failure) {
        return refused(failure) && !(failure instanceof NativeAccessException)
                ? new NativeAccessException(what, flag(), failure) : failure;
    }
}
