package org.streamfusion.bench.jmh;

import org.streamfusion.AttentionShape;
import org.streamfusion.DeviceMesh;
import org.streamfusion.DistributedAttention;
import org.streamfusion.Method;
import org.streamfusion.Plan;
import org.streamfusion.Topology;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.TensorView;
import org.streamfusion.bench.LayerTiming;
import org.streamfusion.gpu.CudaRankDevice;
import org.streamfusion.gpu.GpuOptions;
import org.streamfusion.launch.DistributedEnvironment;

/**
 * What the GPU benchmarks share: the plan their JMH parameters name (topology {@code MxG}, mesh {@code t/u/r}),
 * and the layer they time on this rank's GPU.
 */
final class JmhLayers {
    /** This rank's device, seeded shards {@code x = q, k, v, o} and the layer; closed in reverse. */
    record Layer(CudaRankDevice device, DeviceArena io, TensorView[] x, DistributedAttention attention)
            implements AutoCloseable {
        /** Joins the job described by the environment and makes {@code plan}'s layer on seeded shards. */
        static Layer open(Plan plan) {
            Topology topo = plan.mesh().topology();
            DistributedEnvironment env = DistributedEnvironment.fromSystem();
            CudaRankDevice device = CudaRankDevice.join(env, topo, GpuOptions.defaults());
            DeviceArena io = device.newArena();
            TensorView[] x = LayerTiming.seededShard(io, plan.shape(), topo.worldSize(), env.rank());
            return new Layer(device, io, x, DistributedAttention.create(plan, device));
        }

        @Override
        public void close() {
            attention.close();
            io.close();
            device.close();
        }
    }

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
