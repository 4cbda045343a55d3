/*
 * Which communicator this process runs under, decided once from the launcher's environment: mpirun (Open MPI's
 * OMPI_COMM_WORLD_SIZE), srun (SLURM_STEP_NUM_TASKS, set for job steps only, not for the batch script itself)
 * or another PMI launcher (PMI_SIZE) with more than one rank means MPI; anything else is a single process and
 * loads no library. MPI can be initialised only once per process, so the world communicator is a process-wide
 * singleton: world() opens it, finish() finalises it (or aborts the job when the command failed).
 *
 *   KD4J_MPI=off                 never use MPI, even under a launcher (each rank then trains alone)
 *   KD4J_MPI_LIBRARY=PATH        the libmpi to load (default libmpi.so.40, Open MPI 4/5's soname)
 *   KD4J_COLLECTIVE_TIMEOUT=S    seconds any collective may wait for the other ranks (default 600)
 */
package kd4j.mpi;

import java.util.Map;

public final class Communicators {
    public static final String LIBRARY_VARIABLE = "KD4J_MPI_LIBRARY";
    public static final String TIMEOUT_VARIABLE = "KD4J_COLLECTIVE_TIMEOUT";
    public static final String DEFAULT_LIBRARY = "libmpi.so.40";
    public static final double DEFAULT_TIMEOUT_SECONDS = 600;
    private static Communicator world;

    private Communicators() {}

    /** The ranks a launcher started, as its environment says (1 when none did). */
    public static int launchedRanks(Map<String, String> env) {
        if ("off".equalsIgnoreCase(env.getOrDefault("KD4J_MPI", ""))) return 1;
        for (String v : new String[] {"OMPI_COMM_WORLD_SIZE", "SLURM_STEP_NUM_TASKS", "PMI_SIZE"}) {
            String s = env.get(v);
            if (s == null || s.isBlank()) continue;
            try {
                return Math.max(1, Integer.parseInt(s.strip()));
            } catch (NumberFormatException e) {
                throw new MpiException("environment variable " + v + "='" + s + "' is not a rank count");
            }
        }
        return 1;
    }

    /** This process's communicator, opened on first use: OpenMpi under a launcher with 2+ ranks, else SingleProcess. */
    public static synchronized Communicator world() {
        if (world == null) {
            Map<String, String> env = System.getenv();
            world = launchedRanks(env) > 1
                    ? new OpenMpi(env.getOrDefault(LIBRARY_VARIABLE, DEFAULT_LIBRARY), timeoutSeconds(env))
                    : SingleProcess.INSTANCE;
        }
        return world;
    }

    /** Whether world() was opened with more than one rank. */
    public static synchronized boolean distributed() { return world != null && world.isDistributed(); }

    /**
     * Ends this process's part in the job: MPI_Finalize after success; after a failure (exitCode != 0) of a
     * distributed run, MPI_Abort, so the other ranks stop now instead of at their next collective's timeout.
     */
    public static synchronized void finish(int exitCode) {
        if (world == null || !world.isDistributed()) return;
        if (exitCode != 0) world.abort("kd4j: rank " + world.rank() + "/" + world.size() + " failed (exit code "
                + exitCode + "); stopping every rank", exitCode);
        world.close();
    }

    static double timeoutSeconds(Map<String, String> env) {
        String s = env.get(TIMEOUT_VARIABLE);
        if (s == null || s.isBlank()) return DEFAULT_TIMEOUT_SECONDS;
        try {
            double t = Double.parseDouble(s.strip());
            if (t > 0 && Double.isFinite(t)) return t;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new MpiException("environment variable " + TIMEOUT_VARIABLE + "='" + s + "' must be a positive number of seconds");
    }
}
