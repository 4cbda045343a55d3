/*
 * The conv/scan family (Mamba-1) as autograd ops: the causal depthwise conv1d and the selective scan. The scan
 * saves nothing; its backward recomputes the states. Weight-like gradients (w, bias, aLog, d) are accumulated.
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
import kd4j.tensor.Tensor;

public final class ScanOps {
    private ScanOps() {}

    /**
     * out[b,t,c] = bias[c] + sum_j w[c,j] x[b, t-K+1+j, c]. x [B, T, C]; w [C, K] (HF stores [C, 1, K]: reshape
     * first); bias [C] or null.
     */
    public static Var causalConv1d(Var x, Var w, Var bias) {
        Backend be = x.backend();
        Tensor xt = dense(x);
        Tensor out = scratch(be, act(xt), xt.shape());
        be.causalConv1dForward(xt, w.data(), bias == null ? null : bias.data(), out);
        return Tape.record("causalConv1d", out, (dOut, grads) ->
                be.causalConv1dBackward(dOut, xt, w.data(), assigned(grads, x), accumulated(grads, w),
                        bias == null ? null : accumulated(grads, bias)), x, w, bias);
    }

    /**
     * Mamba-1 selective scan (see Backend.selectiveScanForward): u, delta [B, T, I]; aLog [I, N]; bMat, cMat
     * [B, T, N]; d [I]. Returns y [B, T, I].
     */
    public static Var selectiveScan(Var u, Var delta, Var aLog, Var bMat, Var cMat, Var d) {
        Backend be = u.backend();
        Tensor ut = dense(u), dt = dense(delta), bt = dense(bMat), ct = dense(cMat);
        Tensor y = scratch(be, act(ut), ut.shape());
        be.selectiveScanForward(ut, dt, aLog.data(), bt, ct, d.data(), y);
        return Tape.record("selectiveScan", y, (dY, grads) ->
                be.selectiveScanBackward(dY, ut, dt, aLog.data(), bt, ct, d.data(),
                        assigned(grads, u), assigned(grads, delta), accumulated(grads, aLog),
                        assigned(grads, bMat), assigned(grads, cMat), accumulated(grads, d)),
                u, delta, aLog, bMat, cMat, d);
    }
}
