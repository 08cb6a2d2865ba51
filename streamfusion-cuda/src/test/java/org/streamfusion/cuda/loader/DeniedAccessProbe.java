package org.streamfusion.cuda.loader;

import java.util.Map;

/** Run by {@link VerifiedLoadTest} in a JVM without native access: prints what {@code tryLoad} returns. */
final class DeniedAccessProbe {
    private DeniedAccessProbe() {
    }

    public static void main(String[] args) {
        var failure = new NativeLoader(Map.<String, String>of()::get, Map.<String, String>of()::get)
                .tryLoad(NativeLibrary.CUDART);
        System.out.println("returned: " + failure.map(Throwable::getMessage).orElse("loaded"));
    }
}
