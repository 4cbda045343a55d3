/*
 * The CPU backend's one fixed thread pool. Kernels parallelise over blocks (row ranges, tiles, channel blocks),
 * never over single elements: a handful of blocks per thread, handed out one at a time from a shared counter so that
 * uneven blocks (causal attention rows) even out, and nothing at all is forked for a single block or a single thread.
 *
 * The calling thread is one of the `threads`: it publishes a job, runs blocks itself, and waits only for the blocks
 * still running on the threads - 1 workers. (The first version waited in ForkJoinPool.invoke while `threads`
 * workers ran the blocks; the JDK's join spins before it parks, so a 2-thread GEMM kept three threads busy on two
 * cores and ran at 1-core speed; measured on the dev VM, main thread at 100 % CPU beside both workers.)
 * Workers spin for a few microseconds after a job before they park, because a training step launches its kernels
 * back to back; a job costs one small allocation, never a list of tasks. Workers hold only the Shared state, not the
 * Parallel, so a pool nobody closed is stopped by a Cleaner once it becomes unreachable.
 */
package kd4j.tensor.cpu;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

public final class Parallel implements AutoCloseable {
    /** A contiguous block [start, end) of some index range. */
    @FunctionalInterface
    public interface RangeBody { void run(int start, int end); }

    /** Blocks per thread: enough to balance uneven blocks, few enough to keep the hand-out cheap. */
    private static final int BLOCKS_PER_THREAD = 4;
    /** How long an idle worker (or a waiting caller) spins before it parks. */
    private static final long SPIN_NANOS = 50_000;
    private static final Cleaner CLEANER = Cleaner.create();

    private final int threads;
    private final Shared state;
    /** Serialises callers from different threads; a call from inside a block of this pool runs inline instead. */
    private final ReentrantLock entry = new ReentrantLock();
    private long jobs;

    /** What the workers see: the current job and whether to stop. */
    private static final class Shared implements Runnable {
        final Worker[] workers;
        volatile Job job;
        volatile boolean closed;

        Shared(int workerCount) {
            workers = new Worker[workerCount];
            for (int i = 0; i < workerCount; i++) workers[i] = new Worker(this, i);
        }

        /** Stops the workers (close(), or the Cleaner when an unclosed pool became unreachable). */
        @Override public void run() {
            closed = true;
            for (Worker w : workers) LockSupport.unpark(w);
        }
    }

    /** One forRange call: the body, its blocks, and the counters that hand them out and count them done. */
    private static final class Job {
        final RangeBody body;
        final int n, blocks;
        final Thread caller;
        final long seq;
        final AtomicInteger next = new AtomicInteger(), done = new AtomicInteger();
        volatile Throwable failure;

        Job(RangeBody body, int n, int blocks, Thread caller, long seq) {
            this.body = body; this.n = n; this.blocks = blocks; this.caller = caller; this.seq = seq;
        }

        /** Runs blocks until none is left; a worker that arrives late (the job already handed out) runs nothing. */
        void runBlocks() {
            for (int b; (b = next.getAndIncrement()) < blocks; ) {
                try {
                    body.run((int) ((long) n * b / blocks), (int) ((long) n * (b + 1) / blocks));
                } catch (Throwable t) {
                    if (failure == null) failure = t;
                }
                if (done.incrementAndGet() == blocks && Thread.currentThread() != caller) LockSupport.unpark(caller);
            }
        }
    }

    private static final class Worker extends Thread {
        final Shared state;

        Worker(Shared state, int index) {
            super("kd4j-cpu-" + index);
            this.state = state;
            setDaemon(true);
        }

        @Override public void run() {
            long seen = 0;
            long idleSince = System.nanoTime();
            while (!state.closed) {
                Job j = state.job;
                if (j != null && j.seq != seen) {
                    seen = j.seq;
                    j.runBlocks();
                    idleSince = System.nanoTime();
                } else if (System.nanoTime() - idleSince < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(state);   // the next job's unpark (or a stale permit) wakes it
                }
            }
        }
    }

    /** threads <= 0 means -Dkd4j.threads, or the number of cores. */
    public Parallel(int threads) {
        this.threads = threads > 0 ? threads : defaultThreads();
        this.state = new Shared(this.threads - 1);
        for (Worker w : state.workers) w.start();
        CLEANER.register(this, state);
    }

    public static int defaultThreads() {
        String p = System.getProperty("kd4j.threads");
        if (p != null && !p.isBlank()) {
            try {
                int n = Integer.parseInt(p.trim());
                if (n > 0) return n;
            } catch (NumberFormatException ignored) { /* falls through to the error below */ }
            throw new IllegalArgumentException("-Dkd4j.threads=" + p + " is not a positive integer");
        }
        return Runtime.getRuntime().availableProcessors();
    }

    public int threads() { return threads; }

    /** The number of blocks forRange(n, minBlock, ...) cuts [0, n) into; block i covers [n*i/blocks, n*(i+1)/blocks). */
    public int blockCount(int n, int minBlock) {
        if (n <= 0) return 0;
        int blocks = Math.min(threads * BLOCKS_PER_THREAD, Math.max(1, n / Math.max(1, minBlock)));
        blocks = Math.min(blocks, n);
        return blocks <= 1 || state.workers.length == 0 ? 1 : blocks;
    }

    /** The index of the block forRange(n, minBlock, ...) started at start (for per-block partial results). */
    public int blockOf(int n, int minBlock, int start) {
        int blocks = blockCount(n, minBlock);
        for (int i = 0; i < blocks; i++) if ((int) ((long) n * i / blocks) == start) return i;
        throw new IllegalArgumentException("no block of [0, " + n + ") starts at " + start);
    }

    /**
     * Runs body over [0, n) in blockCount(n, minBlock) contiguous blocks of at least minBlock indices, on the calling
     * thread and the workers; returns when every block is done and rethrows the first failure of any block. Which
     * thread runs which block is not fixed, so a body must not depend on it (per-block results go by blockOf).
     */
    public void forRange(int n, int minBlock, RangeBody body) {
        if (n <= 0) return;
        int blocks = blockCount(n, minBlock);
        if (blocks <= 1 || insideJob()) { body.run(0, n); return; }
        entry.lock();
        try {
            if (state.closed) throw new IllegalStateException("the CPU backend's thread pool is closed");
            Job j = new Job(body, n, blocks, Thread.currentThread(), ++jobs);
            state.job = j;
            for (Worker w : state.workers) LockSupport.unpark(w);
            j.runBlocks();
            long waitSince = System.nanoTime();
            while (j.done.get() < blocks) {
                if (System.nanoTime() - waitSince < SPIN_NANOS) Thread.onSpinWait();
                else LockSupport.park(this);
            }
            Throwable t = j.failure;
            if (t instanceof RuntimeException e) throw e;
            if (t instanceof Error e) throw e;
            if (t != null) throw new IllegalStateException(t);
        } finally {
            state.job = null;   // drop the body (and what it captured) now
            entry.unlock();
        }
    }

    /** Runs body over [0, n) with one block per index (each index is already a sizeable unit of work). */
    public void forEach(int n, RangeBody body) { forRange(n, 1, body); }

    /** A call made from inside a block of this pool (by the caller or a worker) runs inline: the pool is busy with it. */
    private boolean insideJob() {
        return entry.isHeldByCurrentThread() || Thread.currentThread() instanceof Worker w && w.state == state;
    }

    @Override
    public void close() { state.run(); }
}
