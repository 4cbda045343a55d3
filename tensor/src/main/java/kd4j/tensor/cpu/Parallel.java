/*
 * The CPU backend's one fixed thread pool. Kernels parallelise over blocks (row ranges, tiles, channel blocks),
 * never over single elements: one task per block, a handful of blocks per thread so work stealing evens out
 * uneven blocks (causal attention rows), and nothing at all is forked for a single block or a single thread.
 */
package kd4j.tensor.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.RecursiveAction;
import java.util.concurrent.atomic.AtomicInteger;

public final class Parallel implements AutoCloseable {
    /** A contiguous block [start, end) of some index range. */
    @FunctionalInterface
    public interface RangeBody { void run(int start, int end); }

    /** Blocks per thread: enough for work stealing to balance uneven blocks, few enough to keep forks cheap. */
    private static final int BLOCKS_PER_THREAD = 4;

    private final int threads;
    private final ForkJoinPool pool;

    /** threads <= 0 means -Dkd4j.threads, or the number of cores. */
    public Parallel(int threads) {
        this.threads = threads > 0 ? threads : defaultThreads();
        // Named from a counter: getPoolIndex() is still 0 inside the factory, so every worker was "kd4j-cpu-0".
        AtomicInteger next = new AtomicInteger();
        this.pool = this.threads == 1 ? null : new ForkJoinPool(this.threads, p -> {
            ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
            t.setName("kd4j-cpu-" + next.getAndIncrement());
            t.setDaemon(true);
            return t;
        }, null, false);
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

    /** Runs body over [0, n) in contiguous blocks of at least minBlock indices. */
    /** The number of blocks forRange(n, minBlock, ...) cuts [0, n) into; block i covers [n*i/blocks, n*(i+1)/blocks). */
    public int blockCount(int n, int minBlock) {
        if (n <= 0) return 0;
        int blocks = Math.min(threads * BLOCKS_PER_THREAD, Math.max(1, n / Math.max(1, minBlock)));
        blocks = Math.min(blocks, n);
        return blocks <= 1 || pool == null ? 1 : blocks;
    }

    /** The index of the block forRange(n, minBlock, ...) started at start (for per-block partial results). */
    public int blockOf(int n, int minBlock, int start) {
        int blocks = blockCount(n, minBlock);
        for (int i = 0; i < blocks; i++) if ((int) ((long) n * i / blocks) == start) return i;
        throw new IllegalArgumentException("no block of [0, " + n + ") starts at " + start);
    }

    public void forRange(int n, int minBlock, RangeBody body) {
        if (n <= 0) return;
        int blocks = Math.min(threads * BLOCKS_PER_THREAD, Math.max(1, n / Math.max(1, minBlock)));
        blocks = Math.min(blocks, n);
        if (blocks <= 1 || pool == null) { body.run(0, n); return; }
        List<RecursiveAction> tasks = new ArrayList<>(blocks);
        for (int i = 0; i < blocks; i++) {
            int start = (int) ((long) n * i / blocks), end = (int) ((long) n * (i + 1) / blocks);
            tasks.add(new RecursiveAction() {
                @Override protected void compute() { body.run(start, end); }
            });
        }
        if (ForkJoinTask.inForkJoinPool() && Thread.currentThread() instanceof ForkJoinWorkerThread w && w.getPool() == pool) {
            ForkJoinTask.invokeAll(tasks);
        } else {
            pool.invoke(new RecursiveAction() {
                @Override protected void compute() { invokeAll(tasks); }
            });
        }
    }

    /** Runs body over [0, n) with one block per index (each index is already a sizeable unit of work). */
    public void forEach(int n, RangeBody body) { forRange(n, 1, body); }

    @Override
    public void close() {
        if (pool != null) pool.shutdown();
    }
}
