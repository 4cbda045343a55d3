/*
 * A batch of causal-LM rows on the host, built in one place for training, scoring, evaluation and logits
 * caching: input ids [B, T], next-token targets [B, T] and, for rows of unequal length, a key mask [B, T]. Row b
 * holds up to T + 1 tokens; input t is row[t] (then `pad` past the row's end), target t is row[t + 1] (IGNORE
 * where the row has no next token, or where its input token does not count, e.g. EOS in MiniPLM's scoring), and
 * the key mask is 1 on the positions t < length - 1 that predict something. Causal attention never lets a later
 * position change an earlier one's logits, so padding on the right is safe with or without the mask. targetsOf
 * applies the same shift to ids already in a tensor (benchmarks, conformance and verification runs).
 */
package kd4j.models;

import java.util.Arrays;
import java.util.function.IntPredicate;
import kd4j.tensor.DType;
import kd4j.tensor.ShapeException;
import kd4j.tensor.Tensor;

public record NextTokenBatch(int batchSize, int seqLength, int[] inputs, int[] targets, int[] keyMask) {
    /** HF's ignore_index: a target with this value takes no part in the loss (the cross-entropy kernels skip it). */
    public static final int IGNORE = -100;

    /** Every input token counts. */
    public static final IntPredicate ALL = id -> true;

    public NextTokenBatch {
        if (inputs.length != batchSize * seqLength || targets.length != batchSize * seqLength)
            throw new IllegalArgumentException("batch [" + batchSize + ", " + seqLength + "] needs "
                    + batchSize * seqLength + " inputs and targets, got " + inputs.length + " and " + targets.length);
        if (keyMask != null && keyMask.length != inputs.length)
            throw new IllegalArgumentException("key mask of " + keyMask.length + " entries for a batch of " + inputs.length);
    }

    /**
     * Rows rows[0..count) of at most seqLength + 1 tokens (a longer row is cut). The key mask is made only when
     * withMask and the rows differ in length.
     */
    public static NextTokenBatch of(int[][] rows, int count, int seqLength, int pad, IntPredicate counts, boolean withMask) {
        int[] inputs = new int[count * seqLength], targets = new int[count * seqLength];
        boolean ragged = false;
        for (int r = 1; r < count; r++) ragged |= rows[r].length != rows[0].length;
        int[] mask = withMask && ragged ? new int[count * seqLength] : null;
        Arrays.fill(targets, IGNORE);
        for (int r = 0; r < count; r++) {
            int[] row = rows[r];
            int length = Math.min(row.length, seqLength + 1), at = r * seqLength;
            for (int t = 0; t < seqLength; t++) {
                inputs[at + t] = t < length ? row[t] : pad;
                if (t + 1 < length) {
                    if (counts.test(row[t])) targets[at + t] = row[t + 1];
                    if (mask != null) mask[at + t] = 1;
                }
            }
        }
        return new NextTokenBatch(count, seqLength, inputs, targets, mask);
    }

    /** Number of targets that count (not IGNORE). */
    public int countedTokens() {
        int n = 0;
        for (int t : targets) if (t != IGNORE) n++;
        return n;
    }

    /**
     * The same rule for ids already on a device, [B, T] with no extra token: targets I32 [B, T] with targets[b, t] =
     * ids[b, t+1], and IGNORE for the last position and wherever the next token is padding (keyMask 0; may be null).
     */
    public static Tensor targetsOf(Tensor ids, Tensor keyMask) {
        if (ids.dtype() != DType.I32 || ids.rank() != 2)
            throw ShapeException.of("NextTokenBatch.targetsOf", "ids must be I32 [B, T]", "ids", ids);
        int batch = ids.dim(0), time = ids.dim(1);
        int[] id = ids.toIntArray();
        int[] mask = keyMask == null ? null : keyMask.toIntArray();
        int[] targets = new int[id.length];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < time; t++) {
                int n = b * time + t;
                boolean valid = t + 1 < time && (mask == null || (mask[n] != 0 && mask[n + 1] != 0));
                targets[n] = valid ? id[n + 1] : IGNORE;
            }
        return ids.backend().fromInts(targets, batch, time);
    }
}
