package org.streamfusion.launch;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
     * Reads the first launcher's variables present, in the order: torchrun/ours, Slurm, Open MPI. Strictly:
     * numbers are ASCII digits only; once one variable of a launcher's set is present, a missing one of that
     * set is named; {@code MASTER_ADDR} is a host name or an IP address (127.0.0.1 when absent, for a
     * one-host job only); Slurm's per-node counts add up to its task count; and the local rank is the rank's
     * place in its host's block ({@code LOCAL_RANK == RANK mod LOCAL_WORLD_SIZE}), since rank {@code g} runs
     * on machine {@code g / G}.
     *
     * @param env environment variables by name
     * @return where this process stands
     * @throws InvalidConfigurationException if no launcher's variables are set, one of a set is missing, or a
     *                                       value breaks its rule (the message names the variable)
     */
    public static DistributedEnvironment from(Map<String, String> env) {
        if (anyOf(env, "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")) {
            require(env, "torchrun variables", "RANK", "WORLD_SIZE");
            int world = num(env, "WORLD_SIZE");
            boolean local = anyOf(env, "LOCAL_RANK", "LOCAL_WORLD_SIZE");
            if (local) {
                require(env, "torchrun variables", "LOCAL_RANK", "LOCAL_WORLD_SIZE");
            }
            int rank = num(env, "RANK");
            return checked(env, rank, world, local ? num(env, "LOCAL_RANK") : rank, local ? num(env, "LOCAL_WORLD_SIZE")
                    : world, "torchrun variables");
        }
        if (anyOf(env, "SLURM_PROCID", "SLURM_LOCALID")) {
            require(env, "Slurm variables", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID");
            int world = num(env, "SLURM_NTASKS");
            // SLURM_TASKS_PER_NODE (always set, e.g. "4(x2)") first; SLURM_NTASKS_PER_NODE only with --ntasks-per-node.
            String perNode = env.containsKey("SLURM_TASKS_PER_NODE") ? "SLURM_TASKS_PER_NODE" : "SLURM_NTASKS_PER_NODE";
            int local = env.containsKey(perNode) ? tasksPerNode(perNode, env.get(perNode), world) : world;
            return checked(env, num(env, "SLURM_PROCID"), world, num(env, "SLURM_LOCALID"), local, "Slurm variables");
        }
        if (anyOf(env, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
                "OMPI_COMM_WORLD_LOCAL_SIZE")) {
            require(env, "Open MPI variables", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
                    "OMPI_COMM_WORLD_LOCAL_SIZE");
            return checked(env, num(env, "OMPI_COMM_WORLD_RANK"), num(env, "OMPI_COMM_WORLD_SIZE"),
                    num(env, "OMPI_COMM_WORLD_LOCAL_RANK"), num(env, "OMPI_COMM_WORLD_LOCAL_SIZE"), "Open MPI variables");
        }
        throw new InvalidConfigurationException("no launcher variables (RANK/WORLD_SIZE, SLURM_PROCID, OMPI_COMM_WORLD_RANK)",
                "start the process with the streamfusion launcher, torchrun, srun or mpirun");
    }

    /** The record, after the checks that need the variables' names: placement and the master address. */
    private static DistributedEnvironment checked(Map<String, String> env, int rank, int world, int localRank,
            int localWorld, String source) {
        DistributedEnvironment e = new DistributedEnvironment(rank, world, localRank, localWorld,
                masterAddr(env, world / Math.max(1, localWorld)), num(env, "MASTER_PORT"), source);
        if (localRank != rank % localWorld) {
            throw new InvalidConfigurationException("local rank " + localRank + " of rank " + rank + " with " + localWorld
                    + " per host (from " + source + ")", "local rank == rank mod local world size: ranks fill hosts in "
                    + "blocks, rank g on host g / G (Slurm: --distribution=block)");
        }
        return e;
    }

    private static final Pattern HOST_NAME = Pattern.compile(
            "(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\\.?");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]{2,45}");

    /** A host name (RFC 1123), a dotted IPv4 address or an IPv6 literal; never a port, a space or a newline. */
    private static String masterAddr(Map<String, String> env, int nodes) {
        String rule = "MASTER_ADDR is a host name or an IP address of rank 0's host, without a port (MASTER_PORT has it)";
        String v = env.get("MASTER_ADDR");
        if (v == null) {
            if (nodes > 1) {
                throw new InvalidConfigurationException("MASTER_ADDR is not set for a job on " + nodes + " hosts", rule);
            }
            System.getLogger(DistributedEnvironment.class.getName()).log(System.Logger.Level.DEBUG,
                    "MASTER_ADDR is not set; one host, so rank 0's store is at 127.0.0.1");
            return "127.0.0.1";
        }
        boolean ipv6 = v.indexOf(':') != v.lastIndexOf(':') && IPV6.matcher(v).matches();
        if (!ipv6 && !HOST_NAME.matcher(v).matches()) {
            throw new InvalidConfigurationException("MASTER_ADDR='" + v.replace("\n", "\\n").replace("\r", "\\r") + "'", rule);
        }
        return v;
    }

    private static boolean anyOf(Map<String, String> env, String... keys) {
        for (String k : keys) {
            if (env.containsKey(k)) {
                return true;
            }
        }
        return false;
    }

    /** Once one variable of a launcher's set is present, the others must be too: a partial set is a mistake. */
    private static void require(Map<String, String> env, String source, String... keys) {
        for (String k : keys) {
            if (!env.containsKey(k)) {
                throw new InvalidConfigurationException(k + " is not set, but other " + source + " are",
                        "set " + String.join(", ", keys) + " together");
            }
        }
    }

    /** ASCII digits only (Integer.parseInt takes other scripts' digits and a sign), surrounding blanks allowed. */
    private static final Pattern DIGITS = Pattern.compile("[0-9]{1,10}");

    private static int num(Map<String, String> env, String key) {
        String v = env.get(key);
        if (v == null) {
            throw new InvalidConfigurationException(key + " is not set", key + " is set to an integer");
        }
        String t = v.strip();
        if (!DIGITS.matcher(t).matches() || Long.parseLong(t) > Integer.MAX_VALUE) {
            throw new InvalidConfigurationException(key + "=" + v + " is not an integer",
                    key + " is ASCII digits 0-9, at most 2^31-1");
        }
        return Integer.parseInt(t);
    }

    /** One entry of Slurm's per-node list: {@code N} or {@code N(xK)}. */
    private static final Pattern SLURM_COUNT =
            Pattern.compile("([0-9]{1,9})(\\(x([0-9]{1,9})\\))?");

    /**
     * The one task count of every node, from Slurm's per-node form ({@code variable} is SLURM_TASKS_PER_NODE or
     * SLURM_NTASKS_PER_NODE): {@code N}, {@code N(xK)} (K nodes of N tasks) or a comma-separated list of those.
     * Every count must be the same: a local world size is one per job, so a mixed list ({@code 2,1}) is refused
     * rather than read as its first count.
     */
    private static int tasksPerNode(String variable, String value, int tasks) {
        String rule = variable + " is N, N(xK) or a comma-separated list of them, with the same N on every node";
        int count = -1;
        long total = 0;
        boolean list = value.contains(",") || value.contains("(");
        for (String part : value.split(",", -1)) {
            Matcher m = SLURM_COUNT.matcher(part.trim());
            if (!m.matches()) {
                throw new InvalidConfigurationException(variable + "=" + value + " is not a task count", rule);
            }
            int n = Integer.parseInt(m.group(1));
            if (count >= 0 && n != count) {
                throw new InvalidConfigurationException(variable + "=" + value
                        + " gives nodes different task counts (" + count + " and " + n + ")", rule);
            }
            count = n;
            total += (long) n * (m.group(3) == null ? 1 : Long.parseLong(m.group(3)));
        }
        // SLURM_TASKS_PER_NODE lists every node; SLURM_NTASKS_PER_NODE's bare N is per node, whatever their number.
        if ((list || variable.equals("SLURM_TASKS_PER_NODE")) && total != tasks) {
            throw new InvalidConfigurationException(variable + "=" + value + " adds up to " + total
                    + " tasks but SLURM_NTASKS=" + tasks, "the per-node counts N(xK) add up to SLURM_NTASKS");
        }
        return count;
    }
}
