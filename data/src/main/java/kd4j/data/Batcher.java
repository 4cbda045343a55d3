/*
 * Reproducible batches of instances for training: each epoch visits every instance once in an order drawn from
 * (seed, epoch) alone, B instances per batch, a batch running on into the next epoch when one ends. The data
 * position (epoch, index in epoch) after each batch is part of the batch, so a checkpoint that saves it resumes
 * with exactly the batches an uninterrupted run would have seen. A background thread assembles the next
 * batches while the current step runs; waitNanos() reports how long next() blocked, to show whether training
 * ever waits for data.
 */
package kd4j.data;

import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

public final class Batcher implements AutoCloseable {
    /** Where the data stream stands: the next instance to read is order(epoch)[index]. */
    public record Position(long epoch, long index) {
        public static final Position START = new Position(0, 0);
    }

    /**
     * One batch: tokens [B, width] row-major, padded with padId after each row's length; lengths[b] in [1, width];
     * instances[b] the instance index of row b; next the position after this batch (save it with a checkpoint).
     * Row b's inputs are tokens[b, 0 .. len-2] and its labels tokens[b, 1 .. len-1]; later positions are padding.
     */
    public record PaddedRows(int[] tokens, int[] lengths, long[] instances, int batchSize, int width, Position next) {}

    private final TokenSequences data;
    private final int batchSize, width, padId;
    private final long seed;
    private final BlockingQueue<Object> queue;
    private final Thread producer;
    private volatile boolean closed;
    private Position position;
    private long waitNanos, batches;

    // Producer state, touched only by the producer thread.
    private long epoch, index;
    private int[] order;
    private long orderEpoch = -1;
    private int[] row;

    /**
     * @param width    tokens per row (seq + 1); longer instances are cut to width, as MiniPLM's collate does
     * @param start    where to start (Position.START, or a saved position to resume)
     * @param prefetch batches prepared ahead (at least 1)
     */
    public Batcher(TokenSequences data, int batchSize, int width, int padId, long seed, Position start, int prefetch) {
        if (data.size() == 0) throw new IllegalArgumentException(data.path() + ": no instances to batch");
        if (data.size() > Integer.MAX_VALUE)
            throw new IllegalArgumentException(data.path() + ": " + data.size() + " instances; at most " + Integer.MAX_VALUE + " per file");
        if (batchSize < 1 || width < 2 || prefetch < 1)
            throw new IllegalArgumentException("batch size, width and prefetch must be >= 1, >= 2, >= 1; got " + batchSize + ", " + width + ", " + prefetch);
        if (start.epoch() < 0 || start.index() < 0 || start.index() >= data.size())
            throw new IllegalArgumentException("data position " + start + " is outside [0, " + data.size() + ") instances");
        this.data = data;
        this.batchSize = batchSize;
        this.width = width;
        this.padId = padId;
        this.seed = seed;
        this.position = start;
        this.epoch = start.epoch();
        this.index = start.index();
        this.queue = new ArrayBlockingQueue<>(prefetch);
        this.producer = Thread.ofPlatform().daemon().name("kd4j-batcher").start(this::produce);
    }

    /** The instance order of an epoch: a permutation of [0, n) drawn from (seed, epoch) only. */
    public static int[] order(int n, long seed, long epoch) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch);
        for (int i = n - 1; i > 0; i--) {          // Fisher-Yates
            int j = r.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    private void produce() {
        try {
            while (!closed) queue.put(assemble());
        } catch (InterruptedException e) {
            // closed
        } catch (RuntimeException | Error e) {
            try {
                queue.put(e);
            } catch (InterruptedException ignored) {
                // closed while reporting
            }
        }
    }

    private PaddedRows assemble() {
        int n = (int) data.size();
        int[] tokens = new int[batchSize * width];
        int[] lengths = new int[batchSize];
        long[] ids = new long[batchSize];
        if (row == null) row = new int[width];
        for (int b = 0; b < batchSize; b++) {
            if (orderEpoch != epoch) {
                order = order(n, seed, epoch);
                orderEpoch = epoch;
            }
            int instance = order[(int) index];
            int len = data.length(instance);
            if (len > row.length) row = new int[len];
            data.read(instance, row, 0);
            int used = Math.min(len, width);
            System.arraycopy(row, 0, tokens, b * width, used);
            java.util.Arrays.fill(tokens, b * width + used, (b + 1) * width, padId);
            lengths[b] = used;
            ids[b] = instance;
            if (++index == n) {
                index = 0;
                epoch++;
            }
        }
        return new PaddedRows(tokens, lengths, ids, batchSize, width, new Position(epoch, index));
    }

    /** The next batch (blocks only if the background thread has not finished it). */
    public PaddedRows next() {
        long t0 = System.nanoTime();
        Object o;
        try {
            o = queue.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a batch", e);
        }
        waitNanos += System.nanoTime() - t0;
        if (o instanceof RuntimeException e) throw e;
        if (o instanceof Error e) throw e;
        PaddedRows b = (PaddedRows) o;
        batches++;
        position = b.next();
        return b;
    }

    /** The position after the last batch returned (the start position before the first). */
    public Position position() {
        return position;
    }

    /** Total time next() spent blocked. */
    public long waitNanos() {
        return waitNanos;
    }

    public long batches() {
        return batches;
    }

    /** Share of elapsed wall time spent waiting for data: waitNanos / elapsedNanos. */
    public double waitShare(long elapsedNanos) {
        return elapsedNanos <= 0 ? 0 : (double) waitNanos / elapsedNanos;
    }

    @Override
    public void close() {
        closed = true;
        producer.interrupt();
        try {
            producer.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
