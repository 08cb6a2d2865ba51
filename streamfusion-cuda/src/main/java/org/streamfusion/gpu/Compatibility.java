package org.streamfusion.gpu;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.InvalidStateException;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.cuda.nccl.NcclCommunicator;
import org.streamfusion.cuda.nvshmem.NvshmemRuntime;

/**
 * The host a CUDA rank joins from (its GPU's compute capability, the CUDA version the driver supports, the
 * CUDA runtime, NCCL and NVSHMEM) against the compatibility table, {@code compatibility.properties} beside this
 * class: the one place those numbers live. A host that falls short is refused before any communicator is
 * made, with every version found and needed.
 */
final class Compatibility {
    static final String TABLE = "compatibility.properties";

    /** What is checked, in the table's words and the message's. */
    private enum Component {
        COMPUTE_CAPABILITY("compute.capability", "GPU compute capability"),
        CUDA_DRIVER("cuda.driver", "CUDA version the driver supports"),
        CUDA_RUNTIME("cuda.runtime", "CUDA runtime"),
        NCCL("nccl", "NCCL"),
        NVSHMEM("nvshmem", "NVSHMEM");

        final String key;
        final String label;

        Component(String key, String label) {
            this.key = key;
            this.label = label;
        }
    }

    /**
     * A dotted version: {@code major.minor} (compute capabilities, CUDA) or {@code major.minor.patch}.
     *
     * @param major the major number
     * @param minor the minor number
     * @param patch the patch number, or -1 where the version has none
     */
    record Version(int major, int minor, int patch) implements Comparable<Version> {
        static Version parse(String text) {
            String[] parts = text.strip().split("\\.");
            if (parts.length < 2 || parts.length > 3) {
                throw new InvalidArgumentException("version '" + text + "' is not major.minor[.patch]");
            }
            try {
                return new Version(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]),
                        parts.length == 3 ? Integer.parseInt(parts[2]) : -1);
            } catch (NumberFormatException e) {
                throw new InvalidArgumentException("version '" + text + "' is not major.minor[.patch] in decimal", e);
            }
        }

        /** {@code 1000 * major + 10 * minor}, as cudaDriverGetVersion and cudaRuntimeGetVersion give it. */
        static Version ofCuda(int encoded) {
            return new Version(encoded / 1000, encoded % 1000 / 10, -1);
        }

        /** {@code major * 10 + minor}, as CudaRuntime.computeCapability gives it. */
        static Version ofComputeCapability(int encoded) {
            return new Version(encoded / 10, encoded % 10, -1);
        }

        /** NCCL_VERSION_CODE since 2.9: {@code major * 10000 + minor * 100 + patch}. */
        static Version ofNccl(int code) {
            return new Version(code / 10000, code % 10000 / 100, code % 100);
        }

        @Override
        public int compareTo(Version other) {
            int byMajor = Integer.compare(major, other.major);
            int byMinor = Integer.compare(minor, other.minor);
            return byMajor != 0 ? byMajor : byMinor != 0 ? byMinor
                    : Integer.compare(Math.max(patch, 0), Math.max(other.patch, 0));
        }

        @Override
        public String toString() {
            return major + "." + minor + (patch >= 0 ? "." + patch : "");
        }
    }

    /**
     * The versions one rank found.
     *
     * @param computeCapability its GPU's
     * @param cudaDriver        the newest CUDA version the driver supports
     * @param cudaRuntime       the loaded libcudart's
     * @param nccl              the loaded libnccl's
     * @param nvshmem           the loaded libnvshmem_host's, or null when the rank joins without NVSHMEM
     */
    record Found(Version computeCapability, Version cudaDriver, Version cudaRuntime, Version nccl, Version nvshmem) {
        private Version of(Component component) {
            return switch (component) {
                case COMPUTE_CAPABILITY -> computeCapability;
                case CUDA_DRIVER -> cudaDriver;
                case CUDA_RUNTIME -> cudaRuntime;
                case NCCL -> nccl;
                case NVSHMEM -> nvshmem;
            };
        }

        @Override
        public String toString() {
            List<String> parts = new ArrayList<>();
            for (Component component : Component.values()) {
                if (of(component) != null) {
                    parts.add(component.label + " " + of(component));
                }
            }
            return String.join(", ", parts);
        }

        /** Asks the loaded libraries and the device (needs a GPU). */
        static Found probe(int device, boolean withNvshmem) {
            return new Found(Version.ofComputeCapability(CudaRuntime.computeCapability(device)),
                    Version.ofCuda(CudaRuntime.driverVersion()), Version.ofCuda(CudaRuntime.runtimeVersion()),
                    Version.ofNccl(NcclCommunicator.version()),
                    withNvshmem ? Version.parse(NvshmemRuntime.version()) : null);
        }
    }

    private final Properties table;

    private Compatibility(Properties table) {
        this.table = table;
        for (Component component : Component.values()) {
            if (table.getProperty(component.key + ".minimum") == null) {
                throw new InvalidStateException(TABLE + " has no " + component.key + ".minimum");
            }
        }
    }

    /** {@return the table shipped beside this class} */
    static Compatibility table() {
        try (InputStream in = Compatibility.class.getResourceAsStream(TABLE)) {
            if (in == null) {
                throw new InvalidStateException(TABLE + " is missing beside " + Compatibility.class.getName());
            }
            Properties properties = new Properties();
            properties.load(in);
            return new Compatibility(properties);
        } catch (IOException e) {
            throw new InvalidStateException("cannot read " + TABLE + ": " + e.getMessage(), e);
        }
    }

    /** {@return the oldest version that works} */
    private Version minimum(Component component) {
        return Version.parse(table.getProperty(component.key + ".minimum"));
    }

    /** {@return the first version that no longer works, or null where the table sets no bound} */
    private Version below(Component component) {
        String text = table.getProperty(component.key + ".below");
        return text == null ? null : Version.parse(text);
    }

    private String requirement(Component component) {
        Version below = below(component);
        return component.label + (below == null ? " >= " + minimum(component)
                : " in [" + minimum(component) + ", " + below + ")");
    }

    /** {@return every way {@code found} falls short, in the table's order; empty when the host fits} */
    List<String> shortfalls(Found found) {
        List<String> out = new ArrayList<>();
        for (Component component : Component.values()) {
            Version version = found.of(component);
            if (version == null) {
                continue; // NVSHMEM when the rank joins without it
            }
            Version below = below(component);
            if (version.compareTo(minimum(component)) < 0) {
                out.add(component.label + " " + version + " is older than " + minimum(component));
            } else if (below != null && version.compareTo(below) >= 0) {
                out.add(component.label + " " + version + " is not older than " + below);
            }
        }
        return out;
    }

    /**
     * Refuses a host that falls short.
     *
     * @param found  the rank's versions
     * @param rank   the rank, for the message
     * @param device its GPU ordinal, for the message
     * @throws InvalidConfigurationException naming every version found that falls short, and the table
     */
    void check(Found found, int rank, int device) {
        List<String> shortfalls = shortfalls(found);
        if (!shortfalls.isEmpty()) {
            List<String> rules = new ArrayList<>();
            for (Component component : Component.values()) {
                if (found.of(component) != null) {
                    rules.add(requirement(component));
                }
            }
            throw new InvalidConfigurationException("rank " + rank + " on GPU " + device + " cannot run StreamFusion-J: "
                    + String.join("; ", shortfalls) + " (found " + found + ")",
                    String.join(", ", rules) + ", from org/streamfusion/gpu/" + TABLE);
        }
    }
}
