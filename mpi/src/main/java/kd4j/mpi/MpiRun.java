/*
 * The mpirun command line for ranks on this machine, for the tests and the scaling benchmark (a cluster uses its
 * own srun / mpirun line, see docs/distributed.md): --oversubscribe because a small machine has fewer cores than
 * ranks, and, as root, the two variables Open MPI wants before it runs as root.
 */
package kd4j.mpi;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

public final class MpiRun {
    private MpiRun() {}

    /** mpirun on PATH, if there is one. */
    public static Optional<Path> mpirun() {
        String path = System.getenv("PATH");
        if (path == null) return Optional.empty();
        for (String dir : path.split(java.io.File.pathSeparator)) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, "mpirun");
            if (Files.isExecutable(p)) return Optional.of(p);
        }
        return Optional.empty();
    }

    /** Why ranks cannot be launched here (null when they can): no mpirun, or no loadable libmpi. */
    public static String unavailableReason() {
        if (mpirun().isEmpty())
            return "mpirun not found on PATH; install Open MPI (sudo apt-get install openmpi-bin libopenmpi-dev)";
        String lib = System.getenv().getOrDefault(Communicators.LIBRARY_VARIABLE, Communicators.DEFAULT_LIBRARY);
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.SymbolLookup.libraryLookup(lib, arena);
        } catch (IllegalArgumentException e) {
            return "the MPI library " + lib + " cannot be loaded; install libopenmpi-dev or set " + Communicators.LIBRARY_VARIABLE;
        }
        return null;
    }

    /** A process builder running command as ranks processes of one MPI job on localhost. */
    public static ProcessBuilder localJob(int ranks, List<String> command, Map<String, String> extraEnv) {
        return localJob(java.util.Collections.nCopies(ranks, command), extraEnv);
    }

    /** One MPI job on localhost whose rank r runs perRank.get(r) (mpirun's "cmd0 : cmd1" form), same env on all. */
    public static ProcessBuilder localJob(List<List<String>> perRank, Map<String, String> extraEnv) {
        List<String> line = new ArrayList<>(List.of(mpirun().orElseThrow(() -> new MpiException(unavailableReason())).toString(),
                "--oversubscribe", "--bind-to", "none"));
        for (int r = 0; r < perRank.size(); ) {
            int same = 1;
            while (r + same < perRank.size() && perRank.get(r + same).equals(perRank.get(r))) same++;
            if (r > 0) line.add(":");
            line.addAll(List.of("-np", Integer.toString(same)));
            for (String k : extraEnv.keySet()) line.addAll(List.of("-x", k));
            line.addAll(perRank.get(r));
            r += same;
        }
        ProcessBuilder pb = new ProcessBuilder(line);
        pb.environment().putAll(extraEnv);
        pb.environment().put("OMPI_ALLOW_RUN_AS_ROOT", "1");
        pb.environment().put("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
        // A job on one machine needs no network transport; shared memory and self keep tests off the interfaces.
        pb.environment().putIfAbsent("OMPI_MCA_btl", "self,vader");
        return pb;
    }
}
