/*
 * A seeded random initialiser (Models.randomInit): each parameter gets its own generator seeded from the model
 * seed and its name, so a parameter's values do not depend on construction order. Follows HF's _init_weights:
 * normal(0, initializer_range) matrices and embeddings, ones for norms, zeros for biases, and Mamba's A_log,
 * D and dt_proj.bias rules (see Init).
 * With bf16Matrices the weights that may stay half (GEMM operands, embeddings) are rounded to BF16 and frozen, as
 * an inference load of a bf16 checkpoint keeps them: a random teacher of any size for benchmarks, no file needed.
 */
package kd4j.models.nn;

import java.util.SplittableRandom;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;

public final class RandomWeights extends WeightSource {
    private final long seed;
    private final boolean bf16Matrices;

    public RandomWeights(Backend backend, long seed) {
        this(backend, seed, false);
    }

    public RandomWeights(Backend backend, long seed, boolean bf16Matrices) {
        super(backend);
        this.seed = seed;
        this.bf16Matrices = bf16Matrices;
    }

    @Override
    protected Tensor tensor(String name, Init init, boolean mayStayHalf, int[] shape) {
        SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + name.hashCode());
        float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
        switch (init) {
            case Init.Normal n -> { for (int i = 0; i < v.length; i++) v[i] = (float) (rng.nextGaussian() * n.std()); }
            case Init.Constant c -> java.util.Arrays.fill(v, (float) c.value());
            case Init.Uniform u -> {
                for (int i = 0; i < v.length; i++) v[i] = (float) (u.low() + (u.high() - u.low()) * rng.nextDouble());
            }
            case Init.MambaALog a -> {
                int n = shape[shape.length - 1];
                for (int i = 0; i < v.length; i++) v[i] = (float) Math.log(i % n + 1);
            }
            case Init.MambaDtBias b -> {
                double lo = Math.log(b.dtMin()), hi = Math.log(b.dtMax());
                for (int i = 0; i < v.length; i++) {
                    double dt = Math.max(Math.exp(lo + (hi - lo) * rng.nextDouble()), b.floor());
                    v[i] = (float) (dt + Math.log(-Math.expm1(-dt)));          // softplus^-1(dt)
                }
            }
        }
        Tensor t = backend().fromFloats(v, shape);
        if (!bf16Matrices || !mayStayHalf) return t;
        Tensor half = backend().empty(DType.BF16, shape);
        backend().copy(t, half);                                 // round to nearest even
        return half;
    }
}
