/*
 * Runs one job per index on a few threads, handing out indices one at a time; used by
 * Tokenizer.encodeBatch. A failure in any job is rethrown on the calling thread.
 */
package kd4j.tokenizers;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntFunction;

final class ParallelJobs {
    static int[][] run(int count, int threads, IntFunction<int[]> job) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        int[][] out = new int[count][];
        int workers = Math.min(threads, count);
        if (workers <= 1) {
            for (int i = 0; i < count; i++) out[i] = job.apply(i);
            return out;
        }
        AtomicInteger next = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Runnable worker = () -> {
            for (int i; failure.get() == null && (i = next.getAndIncrement()) < count; ) {
                try {
                    out[i] = job.apply(i);
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }
        };
        Thread[] pool = new Thread[workers - 1];
        for (int t = 0; t < pool.length; t++) pool[t] = Thread.ofPlatform().name("kd4j-tokenize-" + t).start(worker);
        worker.run();
        for (Thread t : pool) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while encoding", e);
            }
        }
        Throwable t = failure.get();
        if (t instanceof RuntimeException re) throw re;
        if (t instanceof Error e) throw e;
        if (t != null) throw new IllegalStateException(t);
        return out;
    }

    private ParallelJobs() {}
}
