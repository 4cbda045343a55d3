/*
 * Helpers shared by the autograd op families: the activation dtype, scratch allocation from the active
 * StepArena, and gradient buffers for inputs that may not want one. Not public API.
 */
package kd4j.autograd.ops;

import kd4j.autograd.Grads;
import kd4j.autograd.StepArena;
import kd4j.autograd.Var;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.ShapeException;
import kd4j.tensor.Tensor;

final class Ops {
    private Ops() {}

    /** Activations are F32, or F64 when the input is F64 (finite-difference checks on the reference backend). */
    static DType act(Tensor t) { return t.dtype() == DType.F64 ? DType.F64 : DType.F32; }

    static Tensor scratch(Backend be, DType dtype, int... shape) { return StepArena.scratch(be, dtype, shape); }

    /** The gradient buffer an assigning (=) kernel writes for v, or throw-away scratch when v wants none. */
    static Tensor assigned(Grads grads, Var v) {
        return grads.wants(v) ? grads.assign(v) : scratch(v.backend(), act(v.data()), v.shape());
    }

    /** The gradient buffer an accumulating (+=) kernel adds into for v, or throw-away scratch. */
    static Tensor accumulated(Grads grads, Var v) {
        return grads.wants(v) ? grads.accumulate(v) : scratch(v.backend(), act(v.data()), v.shape());
    }

    /** shape with its last dim replaced by last. */
    static int[] withLast(int[] shape, int last) {
        int[] s = shape.clone();
        s[s.length - 1] = last;
        return s;
    }

    /** shape with extra appended. */
    static int[] append(int[] shape, int extra) {
        int[] s = java.util.Arrays.copyOf(shape, shape.length + 1);
        s[shape.length] = extra;
        return s;
    }

    static void require(boolean ok, String op, String problem, Object... namedShapes) {
        if (!ok) throw ShapeException.of(op, problem, namedShapes);
    }

    /** The data of v, copied to a contiguous tensor first when it is a strided view. */
    static Tensor dense(Var v) { return v.data().contiguous(); }
}
