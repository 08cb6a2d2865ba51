package org.streamfusion.cuda;

import org.streamfusion.StreamFusionException;

/**
 * The JVM refused one of the library's restricted calls (a downcall, {@code System.load}, sizing a device
 * pointer): native access is not enabled for its modules. The message names the flag that enables it, for the
 * module path or the class path as this JVM runs the library.
 */
public final class NativeAccessException extends StreamFusionException {
    /** The flag that grants the access. */
    private final String flag;

    NativeAccessException(String what, String flag, Throwable cause) {
        super(what + " needs native access, which this JVM does not grant to " + NativeAccess.modules()
                + ": start it with " + flag + " (rule: docs/configuration.md, \"JVM flags\")", cause);
        this.flag = flag;
    }

    /** {@return the flag that grants the access, e.g. {@code --enable-native-access=ALL-UNNAMED}} */
    public String flag() {
        return flag;
    }
}
