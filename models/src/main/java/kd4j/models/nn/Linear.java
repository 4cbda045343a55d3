/*
 * A linear layer as HF stores it: weight [out, in], optional bias [out]; y = x W^T + b over rows x [N, in].
 * The weight may be a shared Var (tied lm_head = the embedding table).
 */
package kd4j.models.nn;

import kd4j.autograd.Parameter;
import kd4j.autograd.Var;
import kd4j.autograd.ops.LinearOps;

public final class Linear {
    private final Var weight;
    private final Var bias;
    private final int inFeatures, outFeatures;

    /** Registers prefix.weight [out, in] (normal(std) init, decayed) and, when bias, prefix.bias [out] (zeros). */
    public Linear(WeightSource src, String prefix, int in, int out, boolean bias, double std) {
        this.weight = src.parameter(prefix + ".weight", Init.normal(std), Parameter.Group.DECAY, true, out, in);
        this.bias = bias ? src.parameter(prefix + ".bias", Init.zeros(), Parameter.Group.NO_DECAY, false, out) : null;
        this.inFeatures = in;
        this.outFeatures = out;
    }

    /** A bias-free linear over an existing weight [out, in] (tied embeddings). */
    public Linear(Var sharedWeight) {
        this.weight = sharedWeight;
        this.bias = null;
        this.outFeatures = sharedWeight.dim(0);
        this.inFeatures = sharedWeight.dim(1);
    }

    /** x [N, in] → [N, out]. */
    public Var forward(Var x) { return LinearOps.linear(x, weight, bias); }

    public Var weight() { return weight; }
    public Var bias() { return bias; }
    public int inFeatures() { return inFeatures; }
    public int outFeatures() { return outFeatures; }
}
