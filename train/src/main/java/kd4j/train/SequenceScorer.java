/*
 * Next-token log-likelihoods of whole token sequences under a causal LM, without a tape: the shared core of
 * held-out evaluation (Evaluator) and multiple-choice scoring (MultipleChoiceEval). Sequences are batched and
 * right-padded; with causal attention, padding after a token cannot change that token's logits, so no mask is
 * needed and padded positions are simply ignored in the loss.
 */
package kd4j.train;

import java.util.List;
import kd4j.autograd.GradMode;
import kd4j.autograd.Var;
import kd4j.models.CausalLM;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;

final class SequenceScorer {
    /** Target id of padded positions (HF's ignore_index). */
    static final int IGNORE = -100;

    private final CausalLM model;
    private final int batchSize;

    SequenceScorer(CausalLM model, int batchSize) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        this.model = model;
        this.batchSize = batchSize;
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
        Backend be = model.backend();
        for (int start = 0; start < sequences.size(); start += batchSize) {
            int b = Math.min(batchSize, sequences.size() - start);
            int t = 0;
            for (int i = 0; i < b; i++) t = Math.max(t, sequences.get(start + i).length - 1);
            int[] ids = new int[b * t], targets = new int[b * t];
            java.util.Arrays.fill(targets, IGNORE);
            for (int i = 0; i < b; i++) {
                int[] s = sequences.get(start + i);
                System.arraycopy(s, 0, ids, i * t, s.length - 1);
                System.arraycopy(s, 1, targets, i * t, s.length - 1);
            }
            float[] losses = tokenLosses(be, ids, targets, b, t, vocab);
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

    private float[] tokenLosses(Backend be, int[] ids, int[] targets, int b, int t, int vocab) {
        try (var g = GradMode.off()) {
            Var logits = model.forward(be.fromInts(ids, b, t), null);
            Tensor flat = logits.data().contiguous().reshape(b * t, vocab);
            Tensor losses = be.empty(DType.F32, b * t), lse = be.empty(DType.F32, b * t);
            be.crossEntropyForward(flat, be.fromInts(targets, b * t), IGNORE, losses, lse);
            return losses.toFloatArray();
        }
    }
}
