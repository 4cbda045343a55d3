/*
 * Which launcher environment means MPI, and the single-process communicator of a plain run.
 */
package kd4j.mpi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CommunicatorsTest {
    @Test
    void launchedRanks_readsMpirunSrunAndPmi_andKd4jMpiOffWins() {
        assertEquals(1, Communicators.launchedRanks(Map.of()));
        assertEquals(4, Communicators.launchedRanks(Map.of("OMPI_COMM_WORLD_SIZE", "4")));
        assertEquals(8, Communicators.launchedRanks(Map.of("SLURM_STEP_NUM_TASKS", "8", "SLURM_NTASKS", "8")));
        assertEquals(1, Communicators.launchedRanks(Map.of("SLURM_NTASKS", "8")), "a batch script itself is one process");
        assertEquals(3, Communicators.launchedRanks(Map.of("PMI_SIZE", "3")));
        assertEquals(1, Communicators.launchedRanks(Map.of("OMPI_COMM_WORLD_SIZE", "4", "KD4J_MPI", "off")));
        MpiException e = assertThrows(MpiException.class, () -> Communicators.launchedRanks(Map.of("PMI_SIZE", "two")));
        assertTrue(e.getMessage().contains("PMI_SIZE='two'"), e.getMessage());
    }

    @Test
    void timeout_defaultsAndRefusesNonsense() {
        assertEquals(600, Communicators.timeoutSeconds(Map.of()));
        assertEquals(2.5, Communicators.timeoutSeconds(Map.of(Communicators.TIMEOUT_VARIABLE, "2.5")));
        assertThrows(MpiException.class, () -> Communicators.timeoutSeconds(Map.of(Communicators.TIMEOUT_VARIABLE, "-1")));
    }

    @Test
    void singleProcess_isRankZeroOfOne_andLeavesTheBufferAlone() {
        Communicator c = SingleProcess.INSTANCE;
        assertEquals(0, c.rank());
        assertEquals(1, c.size());
        try (Arena a = Arena.ofConfined()) {
            var buf = a.allocate(ValueLayout.JAVA_FLOAT, 3);
            buf.setAtIndex(ValueLayout.JAVA_FLOAT, 2, 1.5f);
            c.allreduceSum(buf, 3, "test");
            assertEquals(1.5f, buf.getAtIndex(ValueLayout.JAVA_FLOAT, 2));
        }
        assertArrayEquals(new byte[] {7}, c.allgather(new byte[] {7}, "test")[0]);
    }
}
