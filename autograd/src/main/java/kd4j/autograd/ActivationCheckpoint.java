/*
 * Activation checkpointing (gradient checkpointing, Chen et al. 2016; PyTorch's torch.utils.checkpoint): a segment
 * (one decoder or Mamba layer) runs its forward without a tape and keeps only its input and output; its
 * intermediates go back to the StepArena at once, so the next segment reuses them. Backward runs the segment's
 * forward again, on a tape of its own, and then that tape's backward from the output's gradient. The kernels are
 * deterministic, so the recomputed forward and therefore every gradient are bit-identical to a plain run's; the
 * price is one more forward per segment.
 *
 *   try (var c = ActivationCheckpoint.enable(true)) { loss = model.forward(...); Tape.backward(loss); }
 */
package kd4j.autograd;

import java.util.function.UnaryOperator;
import kd4j.tensor.Tensor;

public final class ActivationCheckpoint implements AutoCloseable {
    private static final ThreadLocal<Boolean> ENABLED = ThreadLocal.withInitial(() -> Boolean.FALSE);
    private final boolean previous;

    private ActivationCheckpoint(boolean enabled) {
        previous = ENABLED.get();
        ENABLED.set(enabled);
    }

    /** Segments run through apply(...) are checkpointed on this thread until close() (when enabled is true). */
    public static ActivationCheckpoint enable(boolean enabled) { return new ActivationCheckpoint(enabled); }

    public static boolean isEnabled() { return ENABLED.get(); }

    @Override
    public void close() { ENABLED.set(previous); }

    /**
     * segment(x), checkpointed when checkpointing is enabled and grad mode is on; otherwise simply segment(x).
     * segment must be a pure function of x and the parameters it reads (no state changed between the forward and
     * the backward's recomputation), and must not checkpoint segments of its own.
     */
    public static Var apply(String op, Var x, UnaryOperator<Var> segment) {
        if (!ENABLED.get() || !GradMode.isEnabled()) return segment.apply(x);
        StepArena arena = StepArena.active();
        int mark = arena == null ? 0 : arena.mark();
        Tensor out;
        try (var g = GradMode.off()) {
            out = segment.apply(x).data();
        }
        if (arena != null) arena.releaseSince(mark, out);
        return Tape.recordSegment(op, out, (dOut, grads) -> recompute(x, segment, dOut, grads), x);
    }

    /** The segment's backward: its forward again on a nested tape, that tape's backward, dX handed to the outer tape. */
    private static void recompute(Var x, UnaryOperator<Var> segment, Tensor dOut, Grads grads) {
        Tensor dX = grads.wants(x) ? grads.assign(x) : null;      // taken before the mark: it outlives the release
        StepArena arena = StepArena.active();
        int mark = arena == null ? 0 : arena.mark();
        Tape outer = Tape.push();
        try (var g = GradMode.on(); var plain = enable(false)) {
            Var input = new Var(x.data(), dX != null);
            Var out = segment.apply(input);
            if (Tape.needsGrad(out)) Tape.backward(out, dOut);
            if (dX != null) {
                if (input.grad() == null) x.backend().fill(dX, 0.0);   // the output does not depend on x
                else x.backend().copy(input.grad().reshape(dX.shape()), dX);
            }
        } finally {
            Tape.restore(outer);
        }
        if (arena != null) arena.releaseSince(mark, null);
    }
}
