package org.streamfusion.bench;

import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.Topology;
import org.streamfusion.gpu.CudaRankDevice;
import org.streamfusion.gpu.CudaWorld;
import org.streamfusion.gpu.GpuOptions;
import org.streamfusion.launch.DistributedEnvironment;

/**
 * Where a GPU check's rank comes from: its process's environment and {@link CudaRankDevice#join} (one process per
 * GPU), or, on a thread of {@code launch --one-gpu}, its rank of the job's in-process {@link CudaWorld}. The
 * checks are written once against this.
 */
final class RankContext {
    private static final ThreadLocal<Member> CURRENT = new ThreadLocal<>();

    /** One rank of an in-process job, as its thread knows it. */
    record Member(int rank, Job job) {
    }

    /** The in-process job: its world is made by the first rank that joins, with that rank's topology and options. */
    static final class Job implements AutoCloseable {
        private final int worldSize;
        private CudaWorld world;

        Job(int worldSize) {
            this.worldSize = worldSize;
        }

        synchronized CudaRankDevice join(int rank, Topology topology, GpuOptions options) {
            if (world == null) {
                world = CudaWorld.create(topology, 0, options);
            } else if (!world.topology().equals(topology)) {
                throw new InvalidConfigurationException("rank " + rank + " joins with " + topology + ", the world is "
                        + world.topology(), "every rank of a job uses the same topology");
            }
            return world.device(rank);
        }

        int worldSize() {
            return worldSize;
        }

        @Override
        public synchronized void close() {
            if (world != null) {
                world.close();
            }
        }
    }

    private RankContext() {
    }

    /** Makes this thread rank {@code member.rank()} of an in-process job until {@link #clear}. */
    static void enter(Member member) {
        CURRENT.set(member);
    }

    static void clear() {
        CURRENT.remove();
    }

    /** {@return this rank's place in the job: the process's variables, or this thread's in-process rank} */
    static DistributedEnvironment environment() {
        Member m = CURRENT.get();
        if (m == null) {
            return DistributedEnvironment.fromSystem();
        }
        int n = m.job().worldSize();
        // No store: the port is never dialled; the world gives every rank GPU 0.
        return new DistributedEnvironment(m.rank(), n, m.rank(), n, "127.0.0.1", 1, "launch --one-gpu");
    }

    /** {@return this rank's device: joined to the job of processes, or its rank of the in-process world} */
    static CudaRankDevice join(DistributedEnvironment env, Topology topology, GpuOptions options) {
        Member m = CURRENT.get();
        return m == null ? CudaRankDevice.join(env, topology, options) : m.job().join(env.rank(), topology, options);
    }
}
