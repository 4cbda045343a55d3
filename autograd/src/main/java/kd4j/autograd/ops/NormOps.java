/*
 * The norm family as autograd ops: RMSNorm and LayerNorm over the last dim. The forward saves the per-row
 * statistics (invRms; mean and invStd) for the backward; weight and bias gradients are accumulated.
 */
package kd4j.autograd.ops;

import static kd4j.autograd.ops.Ops.accumulated;
import static kd4j.autograd.ops.Ops.act;
import static kd4j.autograd.ops.Ops.assigned;
import static kd4j.autograd.ops.Ops.dense;
import static kd4j.autograd.ops.Ops.scratch;

import kd4j.autograd.Tape;
import kd4j.autograd.Var;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;

public final class NormOps {
    private NormOps() {}

    /** y = x / sqrt(mean(x^2) + eps) * w over the last dim. x [.., C]; w [C] F32/BF16. Saves invRms [R]. */
    public static Var rmsNorm(Var x, Var w, float eps) {
        Backend be = x.backend();
        Tensor xt = dense(x);
        int cols = xt.dim(-1);
        Tensor x2 = xt.reshape(-1, cols);
        DType t = act(xt);
        Tensor out = scratch(be, t, xt.shape()), invRms = scratch(be, t, x2.dim(0));
        be.rmsNormForward(x2, w.data(), eps, out.reshape(-1, cols), invRms);
        return Tape.record("rmsNorm", out, (dOut, grads) ->
                be.rmsNormBackward(dOut.reshape(-1, cols), x2, w.data(), invRms,
                        assigned(grads, x).reshape(-1, cols), accumulated(grads, w)), x, w);
    }

    /** y = (x - mean) / sqrt(var + eps) * w + b over the last dim (biased var). b may be null. */
    public static Var layerNorm(Var x, Var w, Var b, float eps) {
        Backend be = x.backend();
        Tensor xt = dense(x);
        int cols = xt.dim(-1);
        Tensor x2 = xt.reshape(-1, cols);
        DType t = act(xt);
        Tensor out = scratch(be, t, xt.shape()), mean = scratch(be, t, x2.dim(0)), invStd = scratch(be, t, x2.dim(0));
        be.layerNormForward(x2, w.data(), b == null ? null : b.data(), eps, out.reshape(-1, cols), mean, invStd);
        return Tape.record("layerNorm", out, (dOut, grads) ->
                be.layerNormBackward(dOut.reshape(-1, cols), x2, w.data(), mean, invStd,
                        assigned(grads, x).reshape(-1, cols), accumulated(grads, w),
                        b == null ? null : accumulated(grads, b)), x, w, b);
    }
}
