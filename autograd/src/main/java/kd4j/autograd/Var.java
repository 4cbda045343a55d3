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
    /** True while grad holds only zeros (fresh or zeroGrad()), so an assigning kernel may write it directly. */
    private boolean gradIsZero;

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

    void setGrad(Tensor grad) { this.grad = grad; this.gradIsZero = false; }

    /** PackedParameters: data and grad become views of the packed storages (same values). */
    void adoptPacked(Tensor data, Tensor grad, boolean gradIsZero) {
        this.data = data;
        this.grad = grad;
        this.gradIsZero = gradIsZero;
    }

    /**
     * The gradient buffer, allocated zero-filled on first use (same shape, F32 unless data is F64). Parameters
     * keep theirs across steps; activations draw theirs from the active StepArena.
     */
    public Tensor gradOrZeros() {
        if (grad == null) {
            DType t = gradDType();
            grad = this instanceof Parameter ? data.backend().zeros(t, data.shape())
                    : StepArena.scratchZeros(data.backend(), t, data.shape());
            gradIsZero = true;
        }
        return grad;
    }

    /**
     * The gradient buffer for a kernel that overwrites all of it: allocated like gradOrZeros, but an activation's
     * buffer is not zero-filled first (its contents are undefined until the kernel writes them).
     */
    Tensor gradForOverwrite() {
        if (grad == null && !(this instanceof Parameter)) {
            grad = StepArena.scratch(data.backend(), gradDType(), data.shape());
            gradIsZero = false;
            return grad;
        }
        return gradOrZeros();
    }

    /** The gradient's dtype: F64 for F64 data (gradient checks), else F32. */
    DType gradDType() { return data.dtype() == DType.F64 ? DType.F64 : DType.F32; }

    boolean gradIsZero() { return gradIsZero; }

    void markGradWritten() { gradIsZero = false; }

    /** Zero-fills the gradient in place (no reallocation); nothing to do before the first backward. */
    public void zeroGrad() {
        if (grad != null && !gradIsZero) {
            grad.backend().fill(grad, 0.0);
            gradIsZero = true;
        }
    }

    /** Drops the gradient (frees it; the next backward allocates a new one). */
    public void clearGrad() { grad = null; gradIsZero = false; }

    public Backend backend() { return data.backend(); }
    public int[] shape() { return data.shape(); }
    public int dim(int d) { return data.dim(d); }

    @Override
    public String toString() { return "Var(" + data + (requiresGrad ? ", grad" : "") + ")"; }
}
