package com.example.cpu;

import java.util.Set;
import java.util.TreeSet;

/**
 * The README's quick start ({@link QuickStart}) as a named module: it first checks that the library's only module
 * in the boot layer is the core (the CPU path loads no CUDA module and no bindings), then runs the quick start.
 */
public final class ReadmeCpuExample {
    private ReadmeCpuExample() {
    }

    public static void main(String[] args) {
        Set<String> library = new TreeSet<>();
        for (Module m : ModuleLayer.boot().modules()) {
            if (m.getName().startsWith("org.streamfusion")) {
                library.add(m.getName());
            }
        }
        if (!ReadmeCpuExample.class.getModule().isNamed() || !library.equals(Set.of("org.streamfusion"))) {
            throw new IllegalStateException("expected the named module com.example.cpu with org.streamfusion alone"
                    + " of the library's modules, found " + library);
        }
        System.out.println("library modules in the boot layer: " + library);
        QuickStart.main(args);
    }
}
