/*
 * A tiny causal LM for scoring tests, computed on the host: logits[b, t, :] = E[ids[b, t]] + sum_{s <= t} F[ids[b, s]]
 * with fixed pseudo-random tables. It depends on the whole prefix, so batching, padding and masking mistakes
 * change its scores; directLogProbs computes the same log-probabilities independently, in double.
 */
package kd4j.distill.score;

import java.util.Random;
import kd4j.autograd.ParameterRegistry;
import kd4j.autograd.Var;
import kd4j.models.CausalLM;
import kd4j.models.ModelConfig;
import kd4j.tensor.Backend;
import kd4j.tensor.Tensor;

final class PrefixSumLM implements CausalLM {
    final int vocab;
    final double[][] e, f;
    private final Backend backend;
    int forwardCalls;

    PrefixSumLM(Backend backend, int vocab, long seed) {
        this.backend = backend;
        this.vocab = vocab;
        Random r = new Random(seed);
        e = new double[vocab][vocab];
        f = new double[vocab][vocab];
        for (int i = 0; i < vocab; i++)
            for (int j = 0; j < vocab; j++) { e[i][j] = r.nextGaussian() * 2; f[i][j] = r.nextGaussian(); }
    }

    @Override
    public ModelConfig config() {
        return new ModelConfig() {
            @Override public String architecture() { return "PrefixSumLM"; }
            @Override public int vocabSize() { return vocab; }
            @Override public int hiddenSize() { return vocab; }
            @Override public int numHiddenLayers() { return 0; }
            @Override public boolean tieWordEmbeddings() { return false; }
            @Override public int bosTokenId() { return -1; }
            @Override public int eosTokenId() { return 0; }
        };
    }

    @Override public ParameterRegistry parameters() { return new ParameterRegistry(); }
    @Override public Backend backend() { return backend; }

    @Override
    public Var forward(Tensor ids, Tensor keyMask) {
        forwardCalls++;
        int b = ids.dim(0), t = ids.dim(1);
        int[] x = ids.toIntArray();
        float[] logits = new float[b * t * vocab];
        for (int i = 0; i < b; i++) {
            double[] acc = new double[vocab];
            for (int s = 0; s < t; s++) {
                int id = x[i * t + s];
                for (int v = 0; v < vocab; v++) {
                    acc[v] += f[id][v];
                    logits[(i * t + s) * vocab + v] = (float) (e[id][v] + acc[v]);
                }
            }
        }
        return Var.constant(backend.fromFloats(logits, b, t, vocab));
    }

    /** log p(ids[t+1] | ids[0..t]) for each t, from the float logits the model would return, in double. */
    double[] directLogProbs(int[] ids) {
        double[] out = new double[ids.length - 1];
        double[] acc = new double[vocab];
        for (int t = 0; t + 1 < ids.length; t++) {
            double[] row = new double[vocab];
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < vocab; v++) {
                acc[v] += f[ids[t]][v];
                row[v] = (float) (e[ids[t]][v] + acc[v]);
                max = Math.max(max, row[v]);
            }
            double z = 0;
            for (int v = 0; v < vocab; v++) z += Math.exp(row[v] - max);
            out[t] = row[ids[t + 1]] - max - Math.log(z);
        }
        return out;
    }

    @Override
    public DecodeState newDecodeState(int batch, int maxLength) {
        throw new IllegalStateException("PrefixSumLM is a scoring-test model and does not decode");
    }

    @Override
    public Tensor decode(Tensor ids, DecodeState state) {
        throw new IllegalStateException("PrefixSumLM is a scoring-test model and does not decode");
    }
}
