/*
 * The elementwise family as autograd ops: add and mul (b of a's shape, or broadcast over a's leading dims),
 * scale, and the activations SiLU, GELU (exact), softplus and SwiGLU. Broadcast gradients are summed back over
 * the broadcast rows with sumRowsBackward.
 */
package kd4j.autograd.ops;

import static kd4j.autograd.ops.Ops.act;
import static kd4j.autograd.ops.Ops.assigned;
import static kd4j.autograd.ops.Ops.dense;
import static kd4j.autograd.ops.Ops.scratch;

import java.util.Arrays;
import kd4j.autograd.Tape;
import kd4j.autograd.Var;
import kd4j.tensor.Backend;
import kd4j.tensor.Tensor;

public final class ElementwiseOps {
    private ElementwiseOps() {}

    /** out = a + b; b has a's shape or a's trailing dims (broadcast). dA = dOut, dB = dOut summed over rows. */
    public static Var add(Var a, Var b) {
        Backend be = a.backend();
        Tensor at = dense(a), bt = dense(b);
        Tensor out = scratch(be, act(at), at.shape());
        be.add(at, bt, out);
        boolean broadcast = !at.sameShape(bt);
        return Tape.record("add", out, (dOut, grads) -> {
            if (grads.wants(a)) grads.add(a, dOut);
            if (grads.wants(b)) {
                if (broadcast) be.sumRowsBackward(dOut, grads.accumulate(b));
                else grads.add(b, dOut);
            }
        }, a, b);
    }

    /** out = a * b (b broadcast like add). dA = dOut * b, dB = dOut * a (summed over broadcast rows). */
    public static Var mul(Var a, Var b) {
        Backend be = a.backend();
        Tensor at = dense(a), bt = dense(b);
        Tensor out = scratch(be, act(at), at.shape());
        be.mul(at, bt, out);
        boolean broadcast = !at.sameShape(bt);
        return Tape.record("mul", out, (dOut, grads) -> {
            if (grads.wants(a)) be.mul(dOut, bt, grads.assign(a));
            if (grads.wants(b)) {
                if (broadcast) {
                    Tensor tmp = scratch(be, dOut.dtype(), at.shape());
                    be.mul(dOut, at, tmp);
                    be.sumRowsBackward(tmp, grads.accumulate(b));
                } else {
                    be.mul(dOut, at, grads.assign(b));
                }
            }
        }, a, b);
    }

    /** out = s * x; dX = s * dOut. */
    public static Var scale(Var x, float s) {
        Backend be = x.backend();
        Tensor xt = dense(x);
        Tensor out = scratch(be, act(xt), xt.shape());
        be.scale(xt, s, out);
        return Tape.record("scale", out, (dOut, grads) -> be.scale(dOut, s, grads.assign(x)), x);
    }

    /** out = x * sigmoid(x). */
    public static Var silu(Var x) {
        Backend be = x.backend();
        return pointwise("silu", x, be::siluForward, be::siluBackward);
    }

    /** out = x/2 (1 + erf(x / sqrt 2)) (exact GELU). */
    public static Var gelu(Var x) {
        Backend be = x.backend();
        return pointwise("gelu", x, be::geluForward, be::geluBackward);
    }

    /** out = log(1 + e^x) (x itself above 20). */
    public static Var softplus(Var x) {
        Backend be = x.backend();
        return pointwise("softplus", x, be::softplusForward, be::softplusBackward);
    }

    /** A pointwise activation: forward(x, out); backward(dOut, x, dX) assigns dX from the saved input. */
    private static Var pointwise(String op, Var x, PointwiseForward forward, PointwiseBackward backward) {
        Tensor xt = dense(x);
        Tensor out = scratch(x.backend(), act(xt), xt.shape());
        forward.apply(xt, out);
        return Tape.record(op, out, (dOut, grads) -> backward.apply(dOut, xt, grads.assign(x)), x);
    }

    @FunctionalInterface
    private interface PointwiseForward { void apply(Tensor x, Tensor out); }

    @FunctionalInterface
    private interface PointwiseBackward { void apply(Tensor dOut, Tensor x, Tensor dX); }

    /** out = silu(gate) * up; gate and up of one shape. */
    public static Var swiglu(Var gate, Var up) {
        Backend be = gate.backend();
        Tensor gt = dense(gate), ut = dense(up);
        if (!gt.sameShape(ut))
            throw new kd4j.tensor.ShapeException("swiglu: gate and up shapes differ: gate="
                    + Arrays.toString(gt.shape()) + " up=" + Arrays.toString(ut.shape()));
        Tensor out = scratch(be, act(gt), gt.shape());
        be.swigluForward(gt, ut, out);
        return Tape.record("swiglu", out, (dOut, grads) ->
                be.swigluBackward(dOut, gt, ut, assigned(grads, gate), assigned(grads, up)), gate, up);
    }
}
