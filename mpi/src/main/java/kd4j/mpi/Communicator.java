/*
 * The ranks of a data-parallel job, as the trainer sees them: who am I (rank, size, local rank on this node),
 * an in-place float sum across ranks, an all-gather of small byte strings (for the start-up agreement check)
 * and an abort that stops every rank. SingleProcess is the one-rank case, so a plain run needs no MPI; OpenMpi
 * binds the system's libmpi. Every collective has a timeout: a rank that died or hangs makes the others stop
 * with a CollectiveTimeoutException instead of waiting for ever.
 */
package kd4j.mpi;

import java.lang.foreign.MemorySegment;

public interface Communicator extends AutoCloseable {
    /** This process's rank in [0, size). Rank 0 writes the run's files. */
    int rank();

    /** How many ranks the job has. */
    int size();

    /** This rank's index among the ranks on its node (picks the GPU); 0 for a single process. */
    int localRank();

    /** How many ranks share this node (they split its CPU cores). */
    int localSize();

    default boolean isDistributed() { return size() > 1; }

    default boolean isRoot() { return rank() == 0; }

    /**
     * Sums count floats of buffer (native memory, in place) over all ranks; every rank ends with the same sum.
     * what names the collective in a timeout message ("gradients of step 12").
     */
    void allreduceSum(MemorySegment buffer, long count, String what);

    /** Every rank's bytes (all of the same length), in rank order. */
    byte[][] allgather(byte[] mine, String what);

    /** Stops every rank of the job with exit code code, after printing message on this rank. */
    void abort(String message, int code);

    /** "rank 1/4 (local 1/2) via Open MPI 4.1.4", or "single process". */
    String describe();

    @Override
    void close();
}
