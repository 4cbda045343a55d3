/*
 * Hands out gradient buffers to a backward function. Two kinds, matching the Backend accumulation rule:
 * accumulate(v) gives v's own gradient buffer for kernels that add (+=), i.e. parameter gradients; assign(v)
 * gives a buffer the kernel may overwrite (=): v's own buffer while it holds only zeros, otherwise a scratch
 * buffer that the tape adds into v's gradient afterwards (a value used twice, like the residual stream).
 * add(v, g) is the pass-through case (dX = dOut, as in reshape and add): when g is the op's own output gradient,
 * which the tape drops after this op, a fresh activation gradient simply becomes g (no copy); otherwise g is
 * copied into a fresh gradient or added to one that already holds values.
 */
package kd4j.autograd;

import java.util.ArrayList;
import java.util.List;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;

public final class Grads {
    private final List<Var> pendingVars = new ArrayList<>();
    private final List<Tensor> pendingBuffers = new ArrayList<>();
    /** The running op's output gradient while the tape may hand it on (it is dropped after the op); else null. */
    private Tensor handOver;

    /** True when v takes part in backward (requires a gradient itself, or leads to something that does). */
    public boolean wants(Var v) { return v != null && Tape.needsGrad(v); }

    /** v's own gradient buffer (zero-filled on first use); kernels add into it. */
    public Tensor accumulate(Var v) {
        Tensor g = v.gradOrZeros();
        v.markGradWritten();
        return g;
    }

    /**
     * A buffer the kernel assigns (it must write every element); merged into v's gradient when the backward
     * function returns. A fresh gradient is handed out directly and not zero-filled first.
     */
    public Tensor assign(Var v) {
        if (v.grad() == null || v.gradIsZero()) {
            Tensor g = v.gradForOverwrite();
            v.markGradWritten();
            return g;
        }
        DType t = v.grad().dtype();
        Tensor scratch = StepArena.scratch(v.backend(), t, v.shape());
        pendingVars.add(v);
        pendingBuffers.add(scratch);
        return scratch;
    }

    /** v's gradient += g (g has v's element count, any shape): handed over or copied when fresh, added otherwise. */
    public void add(Var v, Tensor g) {
        if (g == handOver && v.grad() == null && !(v instanceof Parameter) && g.dtype() == v.gradDType()) {
            v.setGrad(g.reshape(v.shape()));
            handOver = null;                  // a second input taking the same dOut gets a copy
        } else if (v.grad() == null || v.gradIsZero()) {
            Tensor dst = assign(v);
            v.backend().copy(g.reshape(dst.shape()), dst);
        } else {
            v.backend().addScaled(accumulate(v), g, 1f);
        }
    }

    /** Called by the tape before each backward fn: dOut may be handed on when the tape owns it, else null. */
    void begin(Tensor handOver) { this.handOver = handOver; }

    /** Adds every assigned scratch buffer into its Var's gradient. Called by the tape after each backward fn. */
    void flush() {
        handOver = null;
        for (int i = 0; i < pendingVars.size(); i++) {
            Var v = pendingVars.get(i);
            v.backend().addScaled(v.grad(), pendingBuffers.get(i), 1f);
        }
        pendingVars.clear();
        pendingBuffers.clear();
    }
}
