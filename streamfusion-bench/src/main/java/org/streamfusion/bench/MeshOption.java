package org.streamfusion.bench;

import java.util.Arrays;
import java.util.Locale;
import org.streamfusion.DeviceMesh;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.Method;
import org.streamfusion.Topology;

/** {@code --mesh METHOD:t/u/r}, e.g. {@code STREAMFUSION:8/1/64}, as a mesh of a topology. */
final class MeshOption {
    private MeshOption() {
    }

    static DeviceMesh mesh(Topology topology, String text) {
        String[] parts = text.split(":");
        String[] degrees = parts.length == 2 ? parts[1].split("/") : new String[0];
        if (degrees.length != 3) {
            throw new InvalidConfigurationException("mesh '" + text + "'", "METHOD:t/u/r, e.g. STREAMFUSION:8/1/64");
        }
        Method method;
        try {
            method = Method.valueOf(parts[0].trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new InvalidConfigurationException("method '" + parts[0] + "' of mesh '" + text + "'",
                    "one of " + Arrays.toString(Method.values()));
        }
        return DeviceMesh.of(topology, method, number(degrees[0]), number(degrees[1]), number(degrees[2]));
    }

    private static int number(String s) {
        try {
            return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            throw new InvalidConfigurationException("'" + s + "' is not a whole number", "a mesh's t, u and r are whole numbers");
        }
    }
}
