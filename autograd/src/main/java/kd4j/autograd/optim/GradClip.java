/*
 * Global gradient-norm clipping (PyTorch's clip_grad_norm_): scales every gradient by maxNorm / (norm + 1e-6)
 * when the norm of all gradients together exceeds maxNorm.
 */
package kd4j.autograd.optim;

import java.util.List;
import kd4j.autograd.Var;
import kd4j.tensor.Tensor;

public final class GradClip {
    private GradClip() {}

    /** Clips in place and returns the norm before clipping (Vars without a gradient are skipped). */
    public static double clipGlobalNorm(List<? extends Var> params, double maxNorm) {
        if (!(maxNorm > 0)) throw new IllegalArgumentException("clipGlobalNorm: maxNorm must be > 0, got " + maxNorm);
        double sumSquares = 0;
        for (Var p : params) {
            Tensor g = p.grad();
            if (g != null) sumSquares += g.backend().sumOfSquares(g);
        }
        double norm = Math.sqrt(sumSquares);
        if (norm > maxNorm) {
            float factor = (float) (maxNorm / (norm + 1e-6));
            for (Var p : params) {
                Tensor g = p.grad();
                if (g != null) g.backend().scale(g, factor, g);
            }
        }
        return norm;
    }
}
