/*
 * The one-rank communicator of a plain run: the sum over one rank is the buffer itself, so nothing is copied or
 * loaded and no MPI library needs to be installed.
 */
package kd4j.mpi;

import java.lang.foreign.MemorySegment;

public final class SingleProcess implements Communicator {
    public static final SingleProcess INSTANCE = new SingleProcess();

    private SingleProcess() {}

    @Override public int rank() { return 0; }

    @Override public int size() { return 1; }

    @Override public int localRank() { return 0; }

    @Override public int localSize() { return 1; }

    @Override public void allreduceSum(MemorySegment buffer, long count, String what) {}

    @Override public byte[][] allgather(byte[] mine, String what) { return new byte[][] {mine.clone()}; }

    @Override
    public void abort(String message, int code) {
        System.err.println(message);
        System.err.flush();
        Runtime.getRuntime().halt(code);
    }

    @Override public String describe() { return "single process"; }

    @Override public void close() {}
}
