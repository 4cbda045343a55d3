/*
 * Reverse-mode tape. Each op runs its forward kernel, then calls record(...) with a closure that runs the
 * backward kernels; backward(loss) replays the closures in reverse order of recording (micrograd's topological
 * order is the recording order, since an op can only use values made before it). One tape per thread.
 */
package kd4j.autograd;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import kd4j.tensor.Tensor;

public final class Tape {
    /** The backward of one op: read dOut (the gradient of its output), write the inputs' gradients via grads. */
    @FunctionalInterface
    public interface Backward {
        void apply(Tensor dOut, Grads grads);
    }

    private record Entry(String op, Var out, Var[] inputs, Backward backward) {}

    private static final ThreadLocal<Tape> CURRENT = ThreadLocal.withInitial(Tape::new);
    private static volatile boolean checkFinite = Boolean.getBoolean("kd4j.checkFinite");

    private final List<Entry> entries = new ArrayList<>();
    private final Set<Var> recorded = Collections.newSetFromMap(new IdentityHashMap<>());

    public static Tape current() { return CURRENT.get(); }

    /**
     * The anomaly check (`kd4j pretrain --detect-anomaly`, or -Dkd4j.checkFinite=true): every op's output and, in
     * backward, every gradient it hands on is checked for NaN/Inf, and the first one found throws a
     * NonFiniteException naming the op and the nearest parameter (its layer). Costs one pass over each tensor.
     */
    public static void checkFinite(boolean on) { checkFinite = on; }

    public static boolean checksFinite() { return checkFinite; }

    /** True when v is a parameter that wants a gradient or the output of a recorded op. */
    static boolean needsGrad(Var v) {
        return v.requiresGrad() || current().recorded.contains(v);
    }

    /**
     * Wraps an op's output. When grad mode is on and any input needs a gradient, the backward is recorded and the
     * output takes part in backward; otherwise the output is a constant.
     */
    public static Var record(String op, Tensor out, Backward backward, Var... inputs) {
        if (checkFinite && out.dtype().isFloating() && !out.backend().allFinite(out))
            throw new NonFiniteException(op, false, site(inputs, current().entries.size()), out.toString());
        Var result = new Var(out, false);
        if (!GradMode.isEnabled()) return result;
        boolean any = false;
        for (Var in : inputs) if (in != null && needsGrad(in)) { any = true; break; }
        if (!any) return result;
        Tape tape = current();
        tape.entries.add(new Entry(op, result, inputs.clone(), backward));
        tape.recorded.add(result);
        return result;
    }

    /**
     * Records a segment whose forward ran without a tape (ActivationCheckpoint): recorded whenever grad mode is on,
     * since the parameters inside the segment may want gradients even when its input does not.
     */
    static Var recordSegment(String op, Tensor out, Backward backward, Var input) {
        if (!GradMode.isEnabled()) return new Var(out, false);
        Var result = new Var(out, false);
        Tape tape = current();
        tape.entries.add(new Entry(op, result, new Var[] {input}, backward));
        tape.recorded.add(result);
        return result;
    }

    /** Makes a fresh, empty tape current on this thread (a nested forward and backward); returns the one it replaced. */
    static Tape push() {
        Tape previous = CURRENT.get();
        CURRENT.set(new Tape());
        return previous;
    }

    /** Makes previous (from push) current again. */
    static void restore(Tape previous) { CURRENT.set(previous); }

    /** Backward from a scalar loss (seed 1). Clears the tape afterwards. */
    public static void backward(Var loss) {
        if (loss.data().numel() != 1)
            throw new IllegalArgumentException("backward(loss) needs a scalar, got " + loss.data());
        Tensor seed = StepArena.scratch(loss.backend(), loss.data().dtype(), loss.shape());
        loss.backend().fill(seed, 1.0);
        backward(loss, seed, true);
    }

    /** Backward from any output with the given gradient of that output (left unchanged). Clears the tape afterwards. */
    public static void backward(Var output, Tensor seed) { backward(output, seed, false); }

    private static void backward(Var output, Tensor seed, boolean ownsSeed) {
        Tape tape = current();
        try {
            if (!tape.recorded.contains(output) && !output.requiresGrad())
                throw new IllegalStateException("backward: the output was not produced by recorded ops "
                        + "(grad mode off, or no input requires a gradient)");
            output.setGrad(seed);
            Grads grads = new Grads();
            for (int i = tape.entries.size() - 1; i >= 0; i--) {
                Entry e = tape.entries.get(i);
                Tensor dOut = e.out.grad();
                if (dOut == null) continue;          // this op does not lead to the output
                grads.begin(e.out != output || ownsSeed ? dOut : null);
                e.backward.apply(dOut, grads);
                grads.flush();
                if (checkFinite) {
                    for (Var in : e.inputs)
                        if (in != null && in.grad() != null && !in.backend().allFinite(in.grad()))
                            throw new NonFiniteException(e.op, true, site(e.inputs, i), "the gradient of "
                                    + (in instanceof Parameter p ? p.name() : in.data().toString()));
                }
                e.out.clearGrad();                    // activation gradients are not needed after their use
            }
        } finally {
            tape.clear();
        }
    }

    /**
     * Where an op sits in the model: the parameter among its inputs, else the parameter of the nearest recorded
     * op before entry index `before` (the layer the value came out of); null when none is known.
     */
    private static String site(Var[] inputs, int before) {
        for (Var in : inputs) if (in instanceof Parameter p) return p.name();
        List<Entry> entries = current().entries;
        for (int i = Math.min(before, entries.size()) - 1; i >= 0; i--)
            for (Var in : entries.get(i).inputs) if (in instanceof Parameter p) return "after " + p.name();
        return null;
    }

    /** Forgets every recorded op (after backward, or to abandon a forward pass). */
    public void clear() {
        entries.clear();
        recorded.clear();
    }

    /** Number of recorded ops (for tests and profiling). */
    public int size() { return entries.size(); }
}
