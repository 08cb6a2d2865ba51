package org.streamfusion.bench.jmh;

import org.streamfusion.AttentionShape;
import org.streamfusion.DeviceMesh;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;

/** The plan that the GPU benchmarks' JMH parameters name: topology {@code MxG} and mesh {@code t/u/r}. */
final class JmhLayers {
    private JmhLayers() {
    }

    /**
     * The plan of {@code method} on the mesh {@code t/u/r} of {@code topology} ({@code MxG}). The mesh is
     * written with '/', since JMH splits a parameter's values at commas; {@code t,u,r} is accepted too when it
     * arrives whole (an annotation's default).
     */
    static Plan plan(String topology, Method method, String mesh, AttentionShape shape) {
        String[] d = mesh.split("[/,]");
        if (d.length != 3) {
            throw new IllegalArgumentException("mesh '" + mesh + "' is not t/u/r (e.g. -p topology=2x1 -p mesh=2/1/1)");
        }
        Topology topo = Topology.parse(topology);
        return Plan.of(shape, DeviceMesh.of(topo, method, Integer.parseInt(d[0].trim()), Integer.parseInt(d[1].trim()),
                Integer.parseInt(d[2].trim())));
    }
}
