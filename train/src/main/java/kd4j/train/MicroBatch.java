/*
 * One training micro-batch on the host: input ids [B, T] and next-token targets [B, T] (row-major, built by
 * kd4j.models.NextTokenBatch), with the indices of the instances it was cut from (so a loss function can look up
 * per-instance data such as cached teacher logits). Positions past an instance's end hold target IGNORE.
 */
package kd4j.train;

import java.util.List;
import kd4j.models.NextTokenBatch;

public record MicroBatch(int batchSize, int seqLength, int[] inputs, int[] targets, long[] instances) {
    public MicroBatch {
        if (inputs.length != batchSize * seqLength || targets.length != batchSize * seqLength)
            throw new IllegalArgumentException("batch [" + batchSize + ", " + seqLength + "] needs "
                    + batchSize * seqLength + " inputs and targets, got " + inputs.length + " and " + targets.length);
        if (instances.length != batchSize)
            throw new IllegalArgumentException("batch of " + batchSize + " rows has " + instances.length + " instance ids");
    }

    /** The rows of a NextTokenBatch (every input counts, no key mask) cut from the given instances. */
    public static MicroBatch of(NextTokenBatch rows, long[] instanceIds) {
        return new MicroBatch(rows.batchSize(), rows.seqLength(), rows.inputs(), rows.targets(), instanceIds);
    }

    /**
     * Rows from instances of up to seqLength + 1 tokens each: row b predicts instance[t + 1] from instance[0..t].
     * Shorter instances are padded (input 0, target IGNORE).
     */
    public static MicroBatch fromInstances(List<int[]> rows, int seqLength, long[] instanceIds) {
        for (int r = 0; r < rows.size(); r++)
            if (rows.get(r).length > seqLength + 1)
                throw new IllegalArgumentException("instance " + instanceIds[r] + " has " + rows.get(r).length
                        + " tokens, more than seqLength + 1 = " + (seqLength + 1));
        return of(NextTokenBatch.of(rows.toArray(int[][]::new), rows.size(), seqLength, 0, NextTokenBatch.ALL, false),
                instanceIds.clone());
    }

    /** Number of targets that count (not IGNORE). */
    public int countedTokens() {
        int n = 0;
        for (int t : targets) if (t != NextTokenBatch.IGNORE) n++;
        return n;
    }
}
