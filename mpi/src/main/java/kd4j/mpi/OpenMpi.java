/*
 * The system's Open MPI (4.x or 5.x) through the JDK's FFM API: the only place kd4j touches libmpi. Open MPI's
 * predefined handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_BYTE) are addresses of global symbols
 * (ompi_mpi_comm_world, ...), so they are looked up, not compiled in; MPICH's handles are integer constants of
 * its headers, which is why this binding is Open MPI's only.
 *
 * Collectives are the non-blocking MPI_Iallreduce / MPI_Iallgather completed by polling MPI_Test against a
 * deadline, so a dead or hung rank ends in a message and MPI_Abort (which stops every rank) rather than a hang.
 * Only the training thread calls in (MPI_THREAD_FUNNELED).
 */
package kd4j.mpi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.locks.LockSupport;

public final class OpenMpi implements Communicator {
    private static final int MPI_SUCCESS = 0, MPI_THREAD_FUNNELED = 1, MPI_MAX_LIBRARY_VERSION_STRING = 256;
    private static final MemorySegment MPI_IN_PLACE = MemorySegment.ofAddress(1);   // mpi.h: ((void *) 1)

    private final String library;
    private final Arena arena = Arena.ofShared();
    private final MethodHandle iallreduce, iallgather, test, abort, finalizeCall, errorString;
    private final MemorySegment world, mpiFloat, mpiByte, mpiSum;
    private final MemorySegment request, flag;
    private final long timeoutNanos;
    private final int rank, size, localRank, localSize;
    private final String version;
    private boolean closed;

    /**
     * Loads library (a name such as libmpi.so.40, or a path), initialises MPI and learns this rank's place.
     * timeoutSeconds bounds every collective.
     */
    public OpenMpi(String library, double timeoutSeconds) {
        this.library = library;
        this.timeoutNanos = (long) (timeoutSeconds * 1e9);
        SymbolLookup lib;
        try {
            lib = SymbolLookup.libraryLookup(library, arena);
        } catch (IllegalArgumentException e) {
            throw new MpiException("cannot load the MPI library '" + library + "' (" + e.getMessage() + ")\n"
                    + "---> install Open MPI (sudo apt-get install openmpi-bin libopenmpi-dev) or point KD4J_MPI_LIBRARY "
                    + "at its libmpi.so");
        }
        if (lib.find("ompi_mpi_comm_world").isEmpty())
            throw new MpiException(library + " is not Open MPI (it has no ompi_mpi_comm_world symbol); kd4j binds "
                    + "Open MPI 4 or 5 only (MPICH's handles are compile-time constants)");
        Linker linker = Linker.nativeLinker();
        MethodHandle initThread = handle(linker, lib, "MPI_Init_thread", JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS);
        MethodHandle initialized = handle(linker, lib, "MPI_Initialized", JAVA_INT, ADDRESS);
        MethodHandle commRank = handle(linker, lib, "MPI_Comm_rank", JAVA_INT, ADDRESS, ADDRESS);
        MethodHandle commSize = handle(linker, lib, "MPI_Comm_size", JAVA_INT, ADDRESS, ADDRESS);
        MethodHandle libraryVersion = handle(linker, lib, "MPI_Get_library_version", JAVA_INT, ADDRESS, ADDRESS);
        // int MPI_Iallreduce(const void *send, void *recv, int count, MPI_Datatype, MPI_Op, MPI_Comm, MPI_Request *)
        iallreduce = handle(linker, lib, "MPI_Iallreduce", JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        // int MPI_Iallgather(const void *send, int sendcount, MPI_Datatype, void *recv, int recvcount, MPI_Datatype, MPI_Comm, MPI_Request *)
        iallgather = handle(linker, lib, "MPI_Iallgather", JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        test = handle(linker, lib, "MPI_Test", JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        abort = handle(linker, lib, "MPI_Abort", JAVA_INT, ADDRESS, JAVA_INT);
        finalizeCall = handle(linker, lib, "MPI_Finalize", JAVA_INT);
        errorString = handle(linker, lib, "MPI_Error_string", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
        world = lib.find("ompi_mpi_comm_world").orElseThrow();
        mpiFloat = symbol(lib, "ompi_mpi_float");
        mpiByte = symbol(lib, "ompi_mpi_byte");
        mpiSum = symbol(lib, "ompi_mpi_op_sum");
        request = arena.allocate(ADDRESS);
        flag = arena.allocate(JAVA_INT);
        try {
            MemorySegment out = arena.allocate(JAVA_INT);
            check((int) initialized.invokeExact(out), "MPI_Initialized");
            if (out.get(JAVA_INT, 0) == 0)
                check((int) initThread.invokeExact(MemorySegment.NULL, MemorySegment.NULL, MPI_THREAD_FUNNELED, out), "MPI_Init_thread");
            check((int) commRank.invokeExact(world, out), "MPI_Comm_rank");
            rank = out.get(JAVA_INT, 0);
            check((int) commSize.invokeExact(world, out), "MPI_Comm_size");
            size = out.get(JAVA_INT, 0);
            MemorySegment text = arena.allocate(MPI_MAX_LIBRARY_VERSION_STRING);
            check((int) libraryVersion.invokeExact(text, out), "MPI_Get_library_version");
            String v = text.getString(0);
            version = v.lines().findFirst().orElse(v).replaceFirst(",.*", "").strip();
        } catch (MpiException e) {
            throw e;
        } catch (Throwable t) {
            throw new MpiException("MPI initialisation through " + library + " failed: " + t, t);
        }
        // Local rank: ranks whose host name equals mine and that come before me. Launchers name it in different
        // variables (OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID, MPI_LOCALRANKID); the host names never disagree.
        byte[] host = Arrays.copyOf(hostName().getBytes(StandardCharsets.UTF_8), 256);
        byte[][] hosts = allgather(host, "host names at start-up");
        int lr = 0, ls = 0;
        for (int r = 0; r < size; r++) {
            if (!Arrays.equals(hosts[r], host)) continue;
            ls++;
            if (r < rank) lr++;
        }
        localRank = lr;
        localSize = ls;
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            String h = System.getenv("HOSTNAME");
            return h != null ? h : "localhost";
        }
    }

    @Override public int rank() { return rank; }

    @Override public int size() { return size; }

    @Override public int localRank() { return localRank; }

    @Override public int localSize() { return localSize; }

    @Override
    public void allreduceSum(MemorySegment buffer, long count, String what) {
        if (count > Integer.MAX_VALUE)
            throw new IllegalArgumentException("allreduce of " + count + " floats; at most " + Integer.MAX_VALUE + " per call");
        if (buffer.byteSize() < count * Float.BYTES)
            throw new IllegalArgumentException("allreduce of " + count + " floats over a buffer of " + buffer.byteSize() + " bytes");
        if (!buffer.isNative())
            throw new IllegalArgumentException("allreduce needs a native buffer (MPI keeps its address while the sum runs)");
        try {
            check((int) iallreduce.invokeExact(MPI_IN_PLACE, buffer, (int) count, mpiFloat, mpiSum, world, request), "MPI_Iallreduce");
        } catch (MpiException e) {
            throw e;
        } catch (Throwable t) {
            throw new MpiException("MPI_Iallreduce: " + t, t);
        }
        await(what);
    }

    @Override
    public byte[][] allgather(byte[] mine, String what) {
        int n = mine.length;
        try (Arena call = Arena.ofConfined()) {
            MemorySegment send = call.allocate(Math.max(1, n)), recv = call.allocate((long) Math.max(1, n) * size);
            MemorySegment.copy(MemorySegment.ofArray(mine), 0, send, 0, n);
            check((int) iallgather.invokeExact(send, n, mpiByte, recv, n, mpiByte, world, request), "MPI_Iallgather");
            await(what);
            byte[][] all = new byte[size][];
            for (int r = 0; r < size; r++) all[r] = recv.asSlice((long) r * n, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            return all;
        } catch (MpiException e) {
            throw e;
        } catch (Throwable t) {
            throw new MpiException("MPI_Iallgather: " + t, t);
        }
    }

    /**
     * Polls the pending request until it completes or the deadline passes. MPI_Test is also what moves a
     * non-blocking collective on (Open MPI has no progress thread by default), so the first ~50 µs spin; after
     * that the thread parks between tests (up to 1 ms), leaving the cores to ranks still computing.
     */
    private void await(String what) {
        long start = System.nanoTime();
        long pause = 0;
        try {
            while (true) {
                check((int) test.invokeExact(request, flag, MemorySegment.NULL), "MPI_Test");
                if (flag.get(JAVA_INT, 0) != 0) return;
                long waited = System.nanoTime() - start;
                if (waited > timeoutNanos) {
                    String message = "kd4j: rank " + rank + "/" + size + ": " + what + " did not complete within "
                            + String.format(java.util.Locale.ROOT, "%.0f", timeoutNanos / 1e9) + " s: another rank "
                            + "died, hangs or is far behind; stopping every rank (MPI_Abort). The timeout is "
                            + Communicators.TIMEOUT_VARIABLE + " (seconds).";
                    abort(message, 1);
                    throw new CollectiveTimeoutException(message);
                }
                if (waited > 50_000) {
                    pause = Math.min(1_000_000, Math.max(20_000, pause * 2));
                    LockSupport.parkNanos(pause);
                } else {
                    Thread.onSpinWait();
                }
            }
        } catch (MpiException | CollectiveTimeoutException e) {
            throw e;
        } catch (Throwable t) {
            throw new MpiException("MPI_Test: " + t, t);
        }
    }

    @Override
    public void abort(String message, int code) {
        System.err.println(message);
        System.err.flush();
        try {
            int ignored = (int) abort.invokeExact(world, code);
        } catch (Throwable t) {
            // MPI_Abort does not return; if it fails we still must not leave this rank running.
        }
        Runtime.getRuntime().halt(code);
    }

    @Override
    public String describe() {
        return "rank " + rank + "/" + size + " (local " + localRank + "/" + localSize + ") via " + version;
    }

    /** MPI_Finalize; the process may not use MPI afterwards. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            check((int) finalizeCall.invokeExact(), "MPI_Finalize");
        } catch (MpiException e) {
            throw e;
        } catch (Throwable t) {
            throw new MpiException("MPI_Finalize: " + t, t);
        }
    }

    private void check(int status, String call) {
        if (status == MPI_SUCCESS) return;
        String text = "error " + status;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(512), len = a.allocate(JAVA_INT);
            if ((int) errorString.invokeExact(status, s, len) == MPI_SUCCESS) text = s.getString(0) + " (" + status + ")";
        } catch (Throwable ignored) {
            // keep the number
        }
        throw new MpiException(call + " failed in " + library + ": " + text);
    }

    private static MemorySegment symbol(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new MpiException("the MPI library has no symbol " + name));
    }

    private static MethodHandle handle(Linker linker, SymbolLookup lib, String name,
                                       java.lang.foreign.MemoryLayout result, java.lang.foreign.MemoryLayout... args) {
        return linker.downcallHandle(symbol(lib, name), FunctionDescriptor.of(result, args));
    }

}
