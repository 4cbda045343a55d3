/*
 * One micro-batch on the host: input ids [B, T] and next-token targets [B, T] (row-major), with the indices of
 * the instances it was cut from (so a loss function can look up per-instance data such as cached teacher
 * logits). Positions past an instance's end hold input 0 and target IGNORE.
 */
package kd4j.train;

import java.util.Arrays;
import java.util.List;

public record Batch(int batchSize, int seqLength, int[] inputs, int[] targets, long[] instances) {
    /** HF's ignore_index: targets with this value take no part in the loss. */
    public static final int IGNORE = -100;

    public Batch {
        if (inputs.length != batchSize * seqLength || targets.length != batchSize * seqLength)
            throw new IllegalArgumentException("batch [" + batchSize + ", " + seqLength + "] needs "
                    + batchSize * seqLength + " inputs and targets, got " + inputs.length + " and " + targets.length);
        if (instances.length != batchSize)
            throw new IllegalArgumentException("batch of " + batchSize + " rows has " + instances.length + " instance ids");
    }

    /**
     * Rows from instances of up to seqLength + 1 tokens each: row b predicts instance[t + 1] from instance[0..t].
     * Shorter instances are padded (target IGNORE).
     */
    public static Batch fromInstances(List<int[]> rows, int seqLength, long[] instanceIds) {
        int b = rows.size();
        int[] in = new int[b * seqLength], tg = new int[b * seqLength];
        Arrays.fill(tg, IGNORE);
        for (int r = 0; r < b; r++) {
            int[] s = rows.get(r);
            if (s.length > seqLength + 1)
                throw new IllegalArgumentException("instance " + instanceIds[r] + " has " + s.length
                        + " tokens, more than seqLength + 1 = " + (seqLength + 1));
            int n = Math.max(0, s.length - 1);
            System.arraycopy(s, 0, in, r * seqLength, n);
            System.arraycopy(s, 1, tg, r * seqLength, n);
        }
        return new Batch(b, seqLength, in, tg, instanceIds.clone());
    }

    /** Number of targets that count (not IGNORE). */
    public int countedTokens() {
        int n = 0;
        for (int t : targets) if (t != IGNORE) n++;
        return n;
    }
}
