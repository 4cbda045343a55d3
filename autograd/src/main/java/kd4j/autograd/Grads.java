/*
 * Hands out gradient buffers to a backward function. Two kinds, matching the Backend accumulation rule:
 * accumulate(v) gives v's own gradient buffer for kernels that add (+=), i.e. parameter gradients; assign(v)
 * gives a buffer the kernel may overwrite (=): v's own buffer while it holds only zeros, otherwise a scratch
 * buffer that the tape adds into v's gradient afterwards (a value used twice, like the residual stream).
 */
package kd4j.autograd;

import java.util.ArrayList;
import java.util.List;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;

public final class Grads {
    private final List<Var> pendingVars = new ArrayList<>();
    private final List<Tensor> pendingBuffers = new ArrayList<>();

    /** True when v takes part in backward (requires a gradient itself, or leads to something that does). */
    public boolean wants(Var v) { return v != null && Tape.needsGrad(v); }

    /** v's own gradient buffer (zero-filled on first use); kernels add into it. */
    public Tensor accumulate(Var v) {
        Tensor g = v.gradOrZeros();
        v.markGradWritten();
        return g;
    }

    /** A buffer the kernel assigns; merged into v's gradient when the backward function returns. */
    public Tensor assign(Var v) {
        if (v.grad() == null || v.gradIsZero()) return accumulate(v);
        DType t = v.grad().dtype();
        Tensor scratch = StepArena.scratch(v.backend(), t, v.shape());
        pendingVars.add(v);
        pendingBuffers.add(scratch);
        return scratch;
    }

    /** Adds every assigned scratch buffer into its Var's gradient. Called by the tape after each backward fn. */
    void flush() {
        for (int i = 0; i < pendingVars.size(); i++) {
            Var v = pendingVars.get(i);
            v.backend().addScaled(v.grad(), pendingBuffers.get(i), 1f);
        }
        pendingVars.clear();
        pendingBuffers.clear();
    }
}
