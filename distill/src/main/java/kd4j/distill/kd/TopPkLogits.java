/*
 * Truncation of a teacher's next-token distribution to the few ids worth caching (offline KD): top-k, top-p-k
 * (Peng et al. 2024, "Pre-training Distillation for Large Language Models: A Design Space Exploration": sort the
 * tau = 1 probabilities descending, keep the shortest prefix whose mass reaches p, then at most k of those) and
 * random sampling (N draws from the teacher, kept as distinct ids with weight count / N: an unbiased estimate of
 * the distribution, "random-sampling KD"). Works on one host row of logits at a time, in double.
 * Not a loss: KdObjective turns the kept ids into training targets.
 */
package kd4j.distill.kd;

import java.util.SplittableRandom;

public final class TopPkLogits {
    /** What a cache keeps per token. */
    public sealed interface Truncation {
        /** The most ids one token can keep. */
        int maxKept();

        /** Keep the top k ids by teacher logit (k >= 1). */
        record TopK(int k) implements Truncation {
            public TopK {
                if (k < 1) throw new IllegalArgumentException("--top-k must be at least 1, got " + k);
            }
            public int maxKept() { return k; }
        }

        /** Keep the shortest top prefix of mass >= p, at most k ids (p in (0, 1], k >= 1). */
        record TopPK(double p, int k) implements Truncation {
            public TopPK {
                if (!(p > 0 && p <= 1)) throw new IllegalArgumentException("--top-p must be in (0, 1], got " + p);
                if (k < 1) throw new IllegalArgumentException("--top-k must be at least 1, got " + k);
            }
            public int maxKept() { return k; }
        }

        /** Draw n ids from the teacher (with replacement); keep the distinct ones weighted count / n. */
        record Sampled(int n) implements Truncation {
            public Sampled {
                if (n < 1) throw new IllegalArgumentException("--sampled must be at least 1, got " + n);
            }
            public int maxKept() { return n; }
        }
    }

    private final Truncation truncation;
    private final int vocab;
    // per-row work buffers: one instance per thread, reused across rows (no allocation per token)
    private final double[] probs;
    private final int[] order;
    private final int[] heap;

    public TopPkLogits(Truncation truncation, int vocab) {
        if (vocab < 1) throw new IllegalArgumentException("vocabulary size must be at least 1, got " + vocab);
        this.truncation = truncation;
        this.vocab = vocab;
        this.probs = new double[vocab];
        this.order = new int[Math.min(vocab, truncation.maxKept())];
        this.heap = new int[order.length];
    }

    public Truncation truncation() { return truncation; }

    /**
     * Truncates row (vocab logits at tau = 1, from offset) into ids[0..K) and probs[0..K) (the teacher's full-
     * vocabulary probabilities of those ids; for Sampled the weights count / n, which sum to 1), sorted by
     * probability descending. Returns K; the mass left out is 1 - sum(probs) (0 for Sampled). rng is used by
     * Sampled only.
     */
    public int truncate(float[] row, int offset, int[] ids, float[] probs, SplittableRandom rng) {
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < vocab; v++) max = Math.max(max, row[offset + v]);
        double sum = 0;
        for (int v = 0; v < vocab; v++) { double e = Math.exp(row[offset + v] - max); this.probs[v] = e; sum += e; }
        double inv = 1 / sum;
        for (int v = 0; v < vocab; v++) this.probs[v] *= inv;
        return switch (truncation) {
            case Truncation.TopK t -> writeTop(top(t.k()), ids, probs);
            case Truncation.TopPK t -> {
                int n = top(t.k());
                double before = 0;
                int kept = 0;
                // an id is kept while the mass strictly before it is below p (so at least one is kept)
                while (kept < n && before < t.p()) before += this.probs[order[kept++]];
                yield writeTop(kept, ids, probs);
            }
            case Truncation.Sampled s -> sample(s.n(), ids, probs, rng);
        };
    }

    /** Fills order[0..n) with the n most probable ids, most probable first (ties: lower id first). */
    private int top(int k) {
        int n = Math.min(k, vocab);
        // a min-heap of the best n seen so far: O(V log k), no sort of the vocabulary
        int size = 0;
        for (int v = 0; v < vocab; v++) {
            if (size < n) { heap[size] = v; siftUp(size++); }
            else if (better(v, heap[0])) { heap[0] = v; siftDown(0, size); }
        }
        for (int i = size - 1; i >= 0; i--) {
            order[i] = heap[0];
            heap[0] = heap[i];
            siftDown(0, i);
        }
        return n;
    }

    private boolean better(int a, int b) { return probs[a] > probs[b] || (probs[a] == probs[b] && a < b); }

    private void siftUp(int i) {
        while (i > 0) {
            int parent = (i - 1) / 2;
            if (!better(heap[parent], heap[i])) break;
            int t = heap[parent]; heap[parent] = heap[i]; heap[i] = t;
            i = parent;
        }
    }

    private void siftDown(int i, int size) {
        while (true) {
            int l = 2 * i + 1, r = l + 1, worst = i;
            if (l < size && better(heap[worst], heap[l])) worst = l;
            if (r < size && better(heap[worst], heap[r])) worst = r;
            if (worst == i) return;
            int t = heap[worst]; heap[worst] = heap[i]; heap[i] = t;
            i = worst;
        }
    }

    private int writeTop(int n, int[] ids, float[] out) {
        for (int i = 0; i < n; i++) { ids[i] = order[i]; out[i] = (float) probs[order[i]]; }
        return n;
    }

    private int sample(int n, int[] ids, float[] out, SplittableRandom rng) {
        if (rng == null) throw new IllegalArgumentException("sampled truncation needs a random generator");
        int distinct = 0;
        for (int draw = 0; draw < n; draw++) {
            double u = rng.nextDouble(), c = 0;
            int v = 0;
            while (v < vocab - 1 && (c += probs[v]) <= u) v++;
            int j = 0;
            while (j < distinct && ids[j] != v) j++;
            if (j == distinct) { ids[distinct] = v; out[distinct] = 0; distinct++; }
            out[j] += 1f;
        }
        for (int j = 0; j < distinct; j++) out[j] /= n;
        // most weight first, like the deterministic truncations
        for (int i = 1; i < distinct; i++)
            for (int j = i; j > 0 && out[j] > out[j - 1]; j--) {
                float tp = out[j]; out[j] = out[j - 1]; out[j - 1] = tp;
                int ti = ids[j]; ids[j] = ids[j - 1]; ids[j - 1] = ti;
            }
        return distinct;
    }
}
