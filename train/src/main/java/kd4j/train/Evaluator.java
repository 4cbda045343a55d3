/*
 * Held-out language-model loss and perplexity, per document and overall, as lm-evaluation-harness's rolling
 * log-likelihood computes them: each document (prefixed with one BOS/EOS token when the model has one, so its
 * first token is scored too) is cut into windows of at most seqLength predictions; every token is predicted
 * exactly once, with the context of its own window. Overall loss = total NLL / total predicted tokens, and
 * perplexity = exp(loss). Nats per token.
 */
package kd4j.train;

import java.util.ArrayList;
import java.util.List;
import kd4j.models.CausalLM;

public final class Evaluator {
    /** A document's ids (without the prefix token). */
    public record Document(String id, int[] tokens) {}

    /** Sum of NLL over a document's predicted tokens. */
    public record DocumentLoss(String id, long tokens, double nll) {
        public double loss() { return tokens == 0 ? Double.NaN : nll / tokens; }
        public double perplexity() { return Math.exp(loss()); }
    }

    public record Report(List<DocumentLoss> documents, long tokens, double nll) {
        /** Mean NLL per predicted token over all documents. */
        public double loss() { return tokens == 0 ? Double.NaN : nll / tokens; }
        public double perplexity() { return Math.exp(loss()); }
    }

    private final SequenceScorer scorer;
    private final int seqLength;
    private final int prefixToken;

    /**
     * @param seqLength   most predictions per forward pass (the model's training context)
     * @param batchSize   windows per forward pass
     * @param prefixToken id put before every document (BOS, else EOS, as lm-evaluation-harness does), or -1 for
     *                    none, in which case each document's first token is context only
     */
    public Evaluator(CausalLM model, int seqLength, int batchSize, int prefixToken) {
        if (seqLength < 1) throw new IllegalArgumentException("seqLength must be >= 1, got " + seqLength);
        this.scorer = new SequenceScorer(model, batchSize);
        this.seqLength = seqLength;
        this.prefixToken = prefixToken;
    }

    /** The model's BOS id, else its EOS id, else -1: the usual prefix token. */
    public static int defaultPrefix(CausalLM model) {
        int bos = model.config().bosTokenId();
        return bos >= 0 ? bos : model.config().eosTokenId();
    }

    public Report evaluate(List<Document> documents) {
        List<int[]> windows = new ArrayList<>();
        List<Integer> owner = new ArrayList<>();
        for (int d = 0; d < documents.size(); d++) {
            int[] doc = documents.get(d).tokens();
            int[] seq = doc;
            if (prefixToken >= 0) {
                seq = new int[doc.length + 1];
                seq[0] = prefixToken;
                System.arraycopy(doc, 0, seq, 1, doc.length);
            }
            // Window w predicts seq[w*L + 1 .. w*L + L]; its inputs start one token earlier.
            for (int from = 0; from + 1 < seq.length; from += seqLength) {
                int to = Math.min(seq.length, from + seqLength + 1);
                windows.add(java.util.Arrays.copyOfRange(seq, from, to));
                owner.add(d);
            }
        }
        double[][] nll = scorer.score(windows, w -> "document '" + documents.get(owner.get(w)).id() + "'");
        long[] count = new long[documents.size()];
        double[] sum = new double[documents.size()];
        for (int w = 0; w < windows.size(); w++) {
            int d = owner.get(w);
            for (double v : nll[w]) sum[d] += v;
            count[d] += nll[w].length;
        }
        List<DocumentLoss> out = new ArrayList<>();
        long tokens = 0;
        double total = 0;
        for (int d = 0; d < documents.size(); d++) {
            out.add(new DocumentLoss(documents.get(d).id(), count[d], sum[d]));
            tokens += count[d];
            total += sum[d];
        }
        return new Report(out, tokens, total);
    }

    /** Mean NLL per predicted token over fixed instances (each scored whole, as in training). */
    public double meanLoss(List<int[]> instances) {
        double[][] nll = scorer.score(instances, i -> "validation instance " + i);
        double sum = 0;
        long n = 0;
        for (double[] a : nll) { for (double v : a) sum += v; n += a.length; }
        return n == 0 ? Double.NaN : sum / n;
    }
}
