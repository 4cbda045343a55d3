/*
 * Autoregressive generation for any CausalLM through its decode state (KV cache, or Mamba's recurrent state):
 * the prompt is fed once, then one token per step. Sampling follows HF's logits processors in HF's order:
 * temperature, then top-k, then top-p (nucleus: the smallest set of most likely tokens whose mass reaches p);
 * temperature 0 (or Sampling.greedy()) is argmax. The RNG is seeded, so a run is reproducible.
 */
package kd4j.models;

import java.util.Arrays;
import java.util.SplittableRandom;
import kd4j.tensor.Backend;
import kd4j.tensor.Tensor;

public final class Generation {
    /** temperature 0 = greedy; topK 0 = off; topP 1 = off. */
    public record Sampling(float temperature, int topK, float topP) {
        public Sampling {
            if (temperature < 0 || topK < 0 || !(topP > 0 && topP <= 1))
                throw new IllegalArgumentException("sampling needs temperature >= 0, topK >= 0 and topP in (0, 1],"
                        + " got temperature=" + temperature + " topK=" + topK + " topP=" + topP);
        }

        public static Sampling greedy() { return new Sampling(0, 0, 1); }

        public boolean isGreedy() { return temperature == 0; }
    }

    private Generation() {}

    /**
     * Continues each prompt by up to maxNewTokens tokens, stopping a sequence at stopToken (included; -1 for
     * none). Prompts of equal length run as one batch; returns the new tokens of each prompt (without the prompt).
     */
    public static int[][] generate(CausalLM model, int[][] prompts, int maxNewTokens, Sampling sampling,
                                   int stopToken, long seed) {
        int[][] out = new int[prompts.length][];
        SplittableRandom rng = new SplittableRandom(seed);
        boolean[] done = new boolean[prompts.length];
        for (int i = 0; i < prompts.length; i++) {
            if (done[i]) continue;
            int length = prompts[i].length;
            if (length == 0) throw new IllegalArgumentException("generate: prompt " + i + " is empty");
            int[] group = java.util.stream.IntStream.range(i, prompts.length)
                    .filter(j -> !done[j] && prompts[j].length == length).toArray();
            int[][] batch = new int[group.length][];
            for (int g = 0; g < group.length; g++) { batch[g] = prompts[group[g]]; done[group[g]] = true; }
            int[][] result = generateBatch(model, batch, maxNewTokens, sampling, stopToken, rng);
            for (int g = 0; g < group.length; g++) out[group[g]] = result[g];
        }
        return out;
    }

    private static int[][] generateBatch(CausalLM model, int[][] prompts, int maxNewTokens, Sampling sampling,
                                         int stopToken, SplittableRandom rng) {
        Backend be = model.backend();
        int batch = prompts.length, time = prompts[0].length, vocab = model.config().vocabSize();
        int[] flat = new int[batch * time];
        for (int b = 0; b < batch; b++) System.arraycopy(prompts[b], 0, flat, b * time, time);
        CausalLM.DecodeState state = model.newDecodeState(batch, time + maxNewTokens);
        Tensor logits = model.decodeLast(be.fromInts(flat, batch, time), state);          // [B, V]
        int[][] produced = new int[batch][maxNewTokens];
        int[] count = new int[batch];
        boolean[] stopped = new boolean[batch];
        float[] row = new float[vocab];
        for (int step = 0; step < maxNewTokens; step++) {
            float[] last = logits.toFloatArray();                                          // [B, V]
            int[] next = new int[batch];
            boolean all = true;
            for (int b = 0; b < batch; b++) {
                System.arraycopy(last, b * vocab, row, 0, vocab);
                next[b] = stopped[b] ? Math.max(stopToken, 0) : sample(row, sampling, rng);
                if (!stopped[b]) {
                    produced[b][count[b]++] = next[b];
                    if (next[b] == stopToken) stopped[b] = true;
                }
                all &= stopped[b];
            }
            if (all || step == maxNewTokens - 1) break;
            logits = model.decodeLast(be.fromInts(next, batch, 1), state);
        }
        int[][] result = new int[batch][];
        for (int b = 0; b < batch; b++) result[b] = Arrays.copyOf(produced[b], count[b]);
        return result;
    }

    /** One token from a row of logits (modified in place). */
    public static int sample(float[] logits, Sampling sampling, SplittableRandom rng) {
        int vocab = logits.length;
        if (sampling.isGreedy()) return argmax(logits);
        for (int v = 0; v < vocab; v++) logits[v] /= sampling.temperature();
        Integer[] order = new Integer[vocab];
        for (int v = 0; v < vocab; v++) order[v] = v;
        Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));               // most likely first
        int keep = sampling.topK() > 0 ? Math.min(sampling.topK(), vocab) : vocab;
        double max = logits[order[0]], sum = 0;
        double[] probs = new double[keep];
        for (int r = 0; r < keep; r++) { probs[r] = Math.exp(logits[order[r]] - max); sum += probs[r]; }
        if (sampling.topP() < 1) {
            // HF TopPLogitsWarper: drop a token when the mass of more likely tokens already reaches topP.
            double mass = 0;
            int kept = 0;
            while (kept < keep && (kept == 0 || mass < sampling.topP() * sum)) mass += probs[kept++];
            keep = kept;
            sum = mass;
        }
        double u = rng.nextDouble() * sum, acc = 0;
        for (int r = 0; r < keep; r++) {
            acc += probs[r];
            if (u < acc) return order[r];
        }
        return order[keep - 1];
    }

    public static int argmax(float[] logits) {
        int best = 0;
        for (int v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
        return best;
    }
}
