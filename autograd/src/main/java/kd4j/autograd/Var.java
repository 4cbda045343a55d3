/*
 * A value in the autograd graph: a tensor, whether it wants a gradient, and (after backward) that gradient.
 * Parameters are Vars that live across steps; activations are Vars made by ops and dropped after the step.
 */
package kd4j.autograd;

import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;

public class Var {
    private Tensor data;
    private Tensor grad;
    private final boolean requiresGrad;

    public Var(Tensor data, boolean requiresGrad) {
        this.data = data;
        this.requiresGrad = requiresGrad;
    }

    /** A constant input (no gradient). */
    public static Var constant(Tensor data) { return new Var(data, false); }

    public Tensor data() { return data; }

    /** Replaces the tensor (loading weights, moving to another backend); the gradient is dropped. */
    public void setData(Tensor data) { this.data = data; this.grad = null; }

    public boolean requiresGrad() { return requiresGrad; }

    /** The accumulated gradient, or null before any backward reached this Var. */
    public Tensor grad() { return grad; }

    void setGrad(Tensor grad) { this.grad = grad; }

    /** The gradient buffer, allocated zero-filled on first use (same shape, F32 unless data is F64). */
    public Tensor gradOrZeros() {
        if (grad == null) {
            DType t = data.dtype() == DType.F64 ? DType.F64 : DType.F32;
            grad = data.backend().zeros(t, data.shape());
        }
        return grad;
    }

    /** Drops the gradient (the optimizer's zeroGrad). */
    public void clearGrad() { grad = null; }

    public Backend backend() { return data.backend(); }
    public int[] shape() { return data.shape(); }
    public int dim(int d) { return data.dim(d); }

    @Override
    public String toString() { return "Var(" + data + (requiresGrad ? ", grad" : "") + ")"; }
}
