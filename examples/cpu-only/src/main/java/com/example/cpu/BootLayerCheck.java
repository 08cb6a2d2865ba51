package com.example.cpu;

import java.util.Set;
import java.util.TreeSet;

/**
 * Run as the named module com.example.cpu with the README's module-path line: the library's only module in the boot
 * layer is the core (the CPU path loads no CUDA module and no bindings).
 */
public final class BootLayerCheck {
    private BootLayerCheck() {
    }

    public static void main(String[] args) {
        Set<String> library = new TreeSet<>();
        for (Module m : ModuleLayer.boot().modules()) {
            if (m.getName().startsWith("org.streamfusion")) {
                library.add(m.getName());
            }
        }
        if (!BootLayerCheck.class.getModule().isNamed() || !library.equals(Set.of("org.streamfusion"))) {
            throw new IllegalStateException("expected the named module com.example.cpu with org.streamfusion alone"
                    + " of the library's modules, found " + library);
        }
        System.out.println("library modules in the boot layer: " + library);
    }
}
