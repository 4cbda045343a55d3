/*
 * The precision of the matrix inputs of linear layers (mixed-precision training, PyTorch's bf16 autocast for
 * matmuls): FP32 (the default) or BF16. Under BF16, LinearOps.linear rounds x, the weight and, in backward, dY to
 * bf16 (round to nearest even, Backend.copy) and the GEMM reads bf16 and accumulates in fp32. Master weights, their
 * gradients and the optimizer state stay fp32: the casts are scratch of the step, and their gradient is the
 * identity (straight-through), so dW lands in the fp32 gradient buffer of the fp32 weight.
 * Only linear layers change: LinearOps.matmul, attention, norms, losses and the optimizer stay fp32. Only backends
 * with Backend.supportsBf16Matmul() take BF16 inputs (OpenCL); the CPU backend computes in fp32 and refuses BF16.
 * The setting is per thread, like GradMode; an op's backward uses the precision its forward ran under.
 *
 *   try (var p = MatmulPrecision.use(MatmulPrecision.BF16)) { loss = model.forward(...); Tape.backward(loss); }
 */
package kd4j.autograd;

import java.util.Locale;
import kd4j.tensor.Backend;

public enum MatmulPrecision {
    FP32, BF16;

    private static final ThreadLocal<MatmulPrecision> CURRENT = ThreadLocal.withInitial(() -> FP32);

    /** The precision linear layers use on this thread now. */
    public static MatmulPrecision current() { return CURRENT.get(); }

    /** Linear layers on this thread use precision until the scope closes. */
    public static Scope use(MatmulPrecision precision) {
        MatmulPrecision previous = CURRENT.get();
        CURRENT.set(precision);
        return new Scope(previous);
    }

    /** Restores the previous precision on close. */
    public record Scope(MatmulPrecision previous) implements AutoCloseable {
        @Override
        public void close() { CURRENT.set(previous); }
    }

    /**
     * Refuses BF16 on a backend whose GEMMs take fp32 inputs only (the CPU), naming the setting that asked for it
     * ("--precision", "run.precision") and what to use instead. The one wording every job and command reports.
     */
    public void requireSupportedBy(Backend be, String setting) {
        if (this == BF16 && !be.supportsBf16Matmul())
            throw new IllegalArgumentException(setting + " bf16: the " + be.name() + " backend computes every GEMM in fp32 "
                    + "(bf16 matrix inputs need an OpenCL device: --device opencl); use " + setting + " fp32");
    }

    /** "fp32" or "bf16", as configs and flags spell it. */
    public String label() { return name().toLowerCase(Locale.ROOT); }

    /** "fp32" or "bf16" (any case). */
    public static MatmulPrecision parse(String text) {
        for (MatmulPrecision p : values()) if (p.name().equalsIgnoreCase(text.strip())) return p;
        throw new IllegalArgumentException("precision '" + text + "': expected fp32 or bf16");
    }
}
