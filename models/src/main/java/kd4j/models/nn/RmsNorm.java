/* RMSNorm over the last dim: y = w * x / sqrt(mean(x^2) + eps), statistics in fp32 (HF LlamaRMSNorm, MambaRMSNorm). */
package kd4j.models.nn;

import kd4j.autograd.Parameter;
import kd4j.autograd.Var;
import kd4j.autograd.ops.NormOps;

public final class RmsNorm {
    private final Parameter weight;
    private final float eps;

    public RmsNorm(WeightSource src, String name, int dim, double eps) {
        this.weight = src.parameter(name, Init.ones(), Parameter.Group.NO_DECAY, false, dim);
        this.eps = (float) eps;
    }

    /** x [R, C] → [R, C]. */
    public Var forward(Var x) { return NormOps.rmsNorm(x, weight, eps); }

    public Parameter weight() { return weight; }
    public float eps() { return eps; }
}
