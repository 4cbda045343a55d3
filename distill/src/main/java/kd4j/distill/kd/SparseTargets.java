/*
 * Cached teacher targets for a block of N tokens (offline KD): per token up to K kept ids (padded with -1) with
 * their teacher probabilities at tau = 1 (or, for a sampled cache, the weights count / n), and the mass the
 * truncation left out. Host arrays, row-major [N, K]; what LogitsCache reads and KdObjective.sparse consumes.
 */
package kd4j.distill.kd;

import java.util.Arrays;

public record SparseTargets(int rows, int k, int[] ids, float[] probs, float[] leftOut, boolean sampled) {
    public SparseTargets {
        if (rows < 0 || k < 1) throw new IllegalArgumentException("sparse targets need rows >= 0 and k >= 1, got " + rows + ", " + k);
        if (ids.length != rows * k || probs.length != rows * k || leftOut.length != rows)
            throw new IllegalArgumentException("sparse targets [" + rows + ", " + k + "] need " + rows * k
                    + " ids and probs and " + rows + " left-out masses, got " + ids.length + ", " + probs.length
                    + " and " + leftOut.length);
    }

    /** Empty targets (every id -1): tokens that take no part in the KD loss. */
    public static SparseTargets empty(int rows, int k, boolean sampled) {
        int[] ids = new int[rows * k];
        Arrays.fill(ids, -1);
        return new SparseTargets(rows, k, ids, new float[rows * k], new float[rows], sampled);
    }

    /** Number of kept ids of row n (ids are packed at the front of the row). */
    public int count(int n) {
        int c = 0;
        while (c < k && ids[n * k + c] >= 0) c++;
        return c;
    }
}
