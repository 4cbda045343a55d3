/*
 * How a parameter is initialised when a model is built from scratch (Models.randomInit). A checkpoint loader
 * ignores it. The Mamba cases follow HF MambaPreTrainedModel._init_weights.
 */
package kd4j.models.nn;

public sealed interface Init {
    /** N(0, std^2). */
    record Normal(double std) implements Init {}
    /** Every element = value (ones for norms and Mamba D, zeros for biases). */
    record Constant(double value) implements Init {}
    /** U(low, high). */
    record Uniform(double low, double high) implements Init {}
    /** Mamba A_log [I, N]: row i is log(1), log(2), ..., log(N), so A = -exp(A_log) = -(1..N). */
    record MambaALog() implements Init {}
    /** Mamba dt_proj.bias: softplus^-1(dt), dt = exp(U(log dtMin, log dtMax)) clamped below at floor. */
    record MambaDtBias(double dtMin, double dtMax, double floor) implements Init {}

    static Init normal(double std) { return new Normal(std); }
    static Init ones() { return new Constant(1); }
    static Init zeros() { return new Constant(0); }
}
