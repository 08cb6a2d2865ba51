package org.streamfusion.launch;

import java.util.Map;
import org.streamfusion.InvalidConfigurationException;

/**
 * Where this process stands in a multi-process job: its global rank, the world size, its rank and the
 * process count on its host, and where rank 0's rendezvous store listens. Read from the variables of the
 * project's launcher and torchrun ({@code RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
 * MASTER_PORT}), Slurm ({@code SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NTASKS_PER_NODE}) or
 * Open MPI ({@code OMPI_COMM_WORLD_*}); {@code MASTER_ADDR}/{@code MASTER_PORT} are needed with all three.
 *
 * @param rank           this process's global rank, {@code 0 <= rank < worldSize}
 * @param worldSize      processes in the job, at least 1
 * @param localRank      this process's rank on its host, {@code 0 <= localRank < localWorldSize}
 * @param localWorldSize processes per host, at least 1, dividing {@code worldSize}
 * @param masterAddr     host of rank 0's rendezvous store
 * @param masterPort     port of rank 0's rendezvous store, {@code 1..65535}
 * @param source         which launcher's variables these came from, for messages
 */
public record DistributedEnvironment(int rank, int worldSize, int localRank, int localWorldSize, String masterAddr,
        int masterPort, String source) {

    /**
     * Checks the values.
     *
     * @throws InvalidConfigurationException if a rank, size or the port breaks its rule
     */
    public DistributedEnvironment {
        if (worldSize <= 0 || rank < 0 || rank >= worldSize) {
            throw new InvalidConfigurationException("rank=" + rank + " of world size " + worldSize + " (from " + source + ")",
                    "0 <= rank < world size");
        }
        if (localWorldSize <= 0 || localRank < 0 || localRank >= localWorldSize || worldSize % localWorldSize != 0) {
            throw new InvalidConfigurationException("local rank=" + localRank + " of " + localWorldSize + " per host, world "
                    + worldSize + " (from " + source + ")", "0 <= local rank < local world size, which divides the world size");
        }
        if (masterPort <= 0 || masterPort > 65535) {
            throw new InvalidConfigurationException("MASTER_PORT=" + masterPort, "1 <= MASTER_PORT <= 65535");
        }
    }

    /** {@return the hosts in the job: {@code worldSize / localWorldSize}} */
    public int nodes() {
        return worldSize / localWorldSize;
    }

    /**
     * This process's environment, read as {@link #from} reads a map.
     *
     * @return where this process stands
     * @throws InvalidConfigurationException if no launcher's variables are set, or a value breaks its rule
     */
    public static DistributedEnvironment fromSystem() {
        return from(System.getenv());
    }

    /**
     * Reads the first launcher's variables present, in the order: torchrun/ours, Slurm, Open MPI.
     *
     * @param env environment variables by name
     * @return where this process stands
     * @throws InvalidConfigurationException if no launcher's variables are set, or a value breaks its rule
     */
    public static DistributedEnvironment from(Map<String, String> env) {
        String addr = env.getOrDefault("MASTER_ADDR", "127.0.0.1");
        if (env.containsKey("RANK") && env.containsKey("WORLD_SIZE")) {
            int world = num(env, "WORLD_SIZE");
            return new DistributedEnvironment(num(env, "RANK"), world, numOr(env, "LOCAL_RANK", num(env, "RANK")),
                    numOr(env, "LOCAL_WORLD_SIZE", world), addr, num(env, "MASTER_PORT"), "torchrun variables");
        }
        if (env.containsKey("SLURM_PROCID") && env.containsKey("SLURM_NTASKS")) {
            int world = num(env, "SLURM_NTASKS");
            // SLURM_TASKS_PER_NODE (always set, e.g. "4(x2)") first; SLURM_NTASKS_PER_NODE only with --ntasks-per-node.
            String perNode = env.containsKey("SLURM_TASKS_PER_NODE") ? "SLURM_TASKS_PER_NODE" : "SLURM_NTASKS_PER_NODE";
            int local = env.containsKey(perNode) ? tasksPerNode(perNode, env.get(perNode)) : world;
            return new DistributedEnvironment(num(env, "SLURM_PROCID"), world, num(env, "SLURM_LOCALID"), local, addr,
                    num(env, "MASTER_PORT"), "Slurm variables");
        }
        if (env.containsKey("OMPI_COMM_WORLD_RANK")) {
            return new DistributedEnvironment(num(env, "OMPI_COMM_WORLD_RANK"), num(env, "OMPI_COMM_WORLD_SIZE"),
                    num(env, "OMPI_COMM_WORLD_LOCAL_RANK"), num(env, "OMPI_COMM_WORLD_LOCAL_SIZE"), addr,
                    num(env, "MASTER_PORT"), "Open MPI variables");
        }
        throw new InvalidConfigurationException("no launcher variables (RANK/WORLD_SIZE, SLURM_PROCID, OMPI_COMM_WORLD_RANK)",
                "start the process with the streamfusion launcher, torchrun, srun or mpirun");
    }

    private static int num(Map<String, String> env, String key) {
        String v = env.get(key);
        if (v == null) {
            throw new InvalidConfigurationException(key + " is not set", key + " is set to an integer");
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new InvalidConfigurationException(key + "=" + v + " is not an integer", key + " is set to an integer");
        }
    }

    /** One entry of Slurm's per-node list: {@code N} or {@code N(xK)}. */
    private static final java.util.regex.Pattern SLURM_COUNT =
            java.util.regex.Pattern.compile("([0-9]{1,9})(\\(x[0-9]{1,9}\\))?");

    /**
     * The one task count of every node, from Slurm's per-node form ({@code variable} is SLURM_TASKS_PER_NODE or
     * SLURM_NTASKS_PER_NODE): {@code N}, {@code N(xK)} (K nodes of N tasks) or a comma-separated list of those.
     * Every count must be the same: a local world size is one per job, so a mixed list ({@code 2,1}) is refused
     * rather than read as its first count.
     */
    private static int tasksPerNode(String variable, String value) {
        String rule = variable + " is N, N(xK) or a comma-separated list of them, with the same N on every node";
        int count = -1;
        for (String part : value.split(",", -1)) {
            java.util.regex.Matcher m = SLURM_COUNT.matcher(part.trim());
            if (!m.matches()) {
                throw new InvalidConfigurationException(variable + "=" + value + " is not a task count", rule);
            }
            int n = Integer.parseInt(m.group(1));
            if (count >= 0 && n != count) {
                throw new InvalidConfigurationException(variable + "=" + value
                        + " gives nodes different task counts (" + count + " and " + n + ")", rule);
            }
            count = n;
        }
        return count;
    }

    private static int numOr(Map<String, String> env, String key, int fallback) {
        return env.containsKey(key) ? num(env, key) : fallback;
    }
}
