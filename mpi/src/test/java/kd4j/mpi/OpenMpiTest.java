/*
 * The Open MPI binding in real 2-rank jobs on localhost (mpirun --oversubscribe): the sum and the gather give
 * every rank the right values and its place; a rank that hangs makes the other stop at the collective's timeout
 * with a message instead of waiting. Skipped, with the reason, where mpirun or libmpi is missing.
 */
package kd4j.mpi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OpenMpiTest {
    @TempDir Path dir;

    @BeforeAll
    static void needMpi() {
        String why = MpiRun.unavailableReason();
        Assumptions.assumeTrue(why == null, () -> "MPI tests skipped: " + why);
    }

    record Job(int exit, String output, double seconds) {}

    private Job run(Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), CollectiveProbe.class.getName()));
        cmd.addAll(List.of(args));
        Path log = dir.resolve("job.log");
        ProcessBuilder pb = MpiRun.localJob(2, cmd, env).redirectErrorStream(true).redirectOutput(log.toFile());
        long t0 = System.nanoTime();
        Process p = pb.start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new AssertionError("mpirun did not finish in 120 s:\n" + Files.readString(log));
        }
        return new Job(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8), (System.nanoTime() - t0) / 1e9);
    }

    @Test
    void twoRanks_sumAndGather_giveEveryRankTheSameRightAnswer() throws Exception {
        Job j = run(Map.of());
        assertEquals(0, j.exit(), j.output());
        for (int r = 0; r < 2; r++)
            assertTrue(j.output().contains("probe rank=" + r + " size=2 local=" + r + "/2 maxErr=0.0 gathered=r0,r1,"), j.output());
    }

    @Test
    void hungRank_makesTheOtherStopAtTheTimeout_withAMessage() throws Exception {
        Job j = run(Map.of(Communicators.TIMEOUT_VARIABLE, "3"), "1");
        assertNotEquals(0, j.exit(), j.output());
        assertTrue(j.output().contains("rank 0/2: probe sum did not complete within 3 s"), j.output());
        assertTrue(j.seconds() < 100, "the job took " + j.seconds() + " s");
    }
}
