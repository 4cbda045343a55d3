/*
 * Scratch for a no-grad pass through a stack of layers: two StepArenas used in turn, layer i drawing from arena
 * i % 2 after resetting it. Without a tape nothing refers to layer i-2's activations once layer i starts (its
 * input, layer i-1's output, lives in the other arena), so a forward pass holds two layers of activations
 * instead of all of them: a 24-layer 0.5B teacher scoring 8 x 1024 tokens drops from ~17 GB to ~1.4 GB.
 * Only for passes whose intermediate tensors nobody keeps (no tape, no hidden-state list); the stack's output
 * must be consumed before the next pass (the models apply their final norm, outside these arenas, at once).
 * runLayers is how every model runs its layer stack, here or, for taped passes, through ActivationCheckpoint.
 */
package kd4j.models.nn;

import java.util.List;
import java.util.function.IntFunction;
import java.util.function.UnaryOperator;
import kd4j.autograd.ActivationCheckpoint;
import kd4j.autograd.GradMode;
import kd4j.autograd.StepArena;
import kd4j.autograd.Var;

public final class LayerArenas {
    private final StepArena[] arenas = {new StepArena(), new StepArena()};

    /** Whether a pass may use these arenas: grad mode off, and no caller collecting intermediate activations. */
    public static boolean applies(Object hiddenStates) { return !GradMode.isEnabled() && hiddenStates == null; }

    /** Resets arena layer % 2 (layer-2's scratch) and makes it active until the scope closes. */
    public StepArena.Scope enter(int layer) {
        StepArena a = arenas[layer & 1];
        a.reset();
        return a.activate();
    }

    /**
     * x through a model's stack of count layers, layer.apply(i) mapping layer i's input to its output (residual
     * included), the one way every model's trunk runs them: a pass these arenas apply to runs each layer inside
     * enter(i); any other pass wraps each layer in ActivationCheckpoint under checkpointOp (recomputed in backward
     * under run.activationCheckpointing) and adds each layer's output to hidden when hidden is not null.
     */
    public Var runLayers(Var x, int count, List<Var> hidden, String checkpointOp, IntFunction<UnaryOperator<Var>> layer) {
        boolean noTape = applies(hidden);
        for (int i = 0; i < count; i++) {
            UnaryOperator<Var> f = layer.apply(i);
            if (noTape) {
                try (var scope = enter(i)) { x = f.apply(x); }
                continue;
            }
            x = ActivationCheckpoint.apply(checkpointOp, x, f);
            if (hidden != null) hidden.add(x);
        }
        return x;
    }

    /** Bytes both arenas hold (steady once the pass shape is). */
    public long bytesAllocated() { return arenas[0].bytesAllocated() + arenas[1].bytesAllocated(); }
}
