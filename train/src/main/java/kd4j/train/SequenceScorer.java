/*
 * Next-token log-likelihoods of whole token sequences under a causal LM, without a tape: the shared core of
 * held-out evaluation (Evaluator) and multiple-choice scoring (MultipleChoiceEval). Sequences are batched and
 * right-padded (NextTokenBatch); with causal attention, padding after a token cannot change that token's logits,
 * so no mask is needed and padded positions are simply ignored in the loss. The per-token log-probabilities are
 * ChunkedLogits.negLogProbs, the routine offline scoring uses too.
 */
package kd4j.train;

import java.util.List;
import kd4j.models.CausalLM;
import kd4j.models.ChunkedLogits;
import kd4j.models.NextTokenBatch;

final class SequenceScorer {
    private final CausalLM model;
    private final int batchSize;
    private final ChunkedLogits logits;

    SequenceScorer(CausalLM model, int batchSize) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        this.model = model;
        this.batchSize = batchSize;
        this.logits = new ChunkedLogits(model, ChunkedLogits.DEFAULT_CHUNK_BYTES);
    }

    /**
     * For each sequence s (length L >= 2): nll[t] = -log p(s[t+1] | s[0..t]) for t in 0..L-2, in double.
     * Every id must be in [0, vocabSize).
     */
    double[][] score(List<int[]> sequences) { return score(sequences, i -> "sequence " + i); }

    /** As score(sequences); a non-finite log-probability stops it, naming the sequence by name.apply(index). */
    double[][] score(List<int[]> sequences, java.util.function.IntFunction<String> name) {
        int vocab = model.config().vocabSize();
        double[][] out = new double[sequences.size()][];
        for (int i = 0; i < sequences.size(); i++) {
            int[] s = sequences.get(i);
            if (s.length < 2)
                throw new IllegalArgumentException("sequence " + i + " has " + s.length + " tokens; scoring needs at least 2");
            for (int k = 0; k < s.length; k++)
                if (s[k] < 0 || s[k] >= vocab)
                    throw new IllegalArgumentException("sequence " + i + ", token " + k + ": id " + s[k]
                            + " is outside the model's vocabulary [0, " + vocab + ")");
        }
        int[][] rows = new int[batchSize][];
        for (int start = 0; start < sequences.size(); start += batchSize) {
            int b = Math.min(batchSize, sequences.size() - start);
            int t = 0;
            for (int i = 0; i < b; i++) {
                rows[i] = sequences.get(start + i);
                t = Math.max(t, rows[i].length - 1);
            }
            float[] losses = logits.negLogProbs(NextTokenBatch.of(rows, b, t, 0, NextTokenBatch.ALL, false));
            for (int i = 0; i < b; i++) {
                int n = sequences.get(start + i).length - 1;
                double[] nll = new double[n];
                for (int k = 0; k < n; k++) {
                    nll[k] = losses[i * t + k];
                    if (!Double.isFinite(nll[k]))
                        throw NonFiniteResultException.logProbability(name.apply(start + i), k, -nll[k]);
                }
                out[start + i] = nll;
            }
        }
        return out;
    }
}
