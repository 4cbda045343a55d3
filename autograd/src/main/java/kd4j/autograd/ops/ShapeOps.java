/*
 * Shape ops: reshape (a view), narrow and transpose (contiguous copies, so every later kernel sees contiguous
 * input). Their backwards put the gradient back where the elements came from.
 */
package kd4j.autograd.ops;

import static kd4j.autograd.ops.Ops.dense;
import static kd4j.autograd.ops.Ops.scratch;

import kd4j.autograd.Tape;
import kd4j.autograd.Var;
import kd4j.tensor.Backend;
import kd4j.tensor.Tensor;

public final class ShapeOps {
    private ShapeOps() {}

    /** The same elements with new dims (one may be -1); a view of x's data. */
    public static Var reshape(Var x, int... dims) {
        Backend be = x.backend();
        Tensor out = dense(x).reshape(dims);
        return Tape.record("reshape", out, (dOut, grads) -> grads.add(x, dOut), x);
    }

    /** Elements start..start+length-1 along dim, as a contiguous copy. dX is dOut in that slice, 0 elsewhere. */
    public static Var narrow(Var x, int dim, int start, int length) {
        Backend be = x.backend();
        Tensor view = x.data().narrow(dim, start, length);
        Tensor out = scratch(be, Ops.act(view), view.shape());
        be.copy(view, out);
        return Tape.record("narrow", out, (dOut, grads) -> {
            Tensor dX = grads.assign(x);
            be.fill(dX, 0.0);
            be.copy(dOut, dX.narrow(dim, start, length));
        }, x);
    }

    /** x with dims d0 and d1 swapped, as a contiguous copy. */
    public static Var transpose(Var x, int d0, int d1) {
        Backend be = x.backend();
        Tensor view = x.data().transpose(d0, d1);
        Tensor out = scratch(be, Ops.act(view), view.shape());
        be.copy(view, out);
        return Tape.record("transpose", out, (dOut, grads) -> be.copy(dOut.transpose(d0, d1), grads.assign(x)), x);
    }
}
