/*
 * The gemm family as autograd ops: linear layers (y = x W^T + b, W in HF's [out, in] layout, F32/BF16/F16) and
 * batched matmul. Each backward is two more gemms on the same kernel; parameter gradients are accumulated.
 * Under MatmulPrecision.BF16 a linear layer's GEMM inputs (x, W, and dY in backward) are rounded to bf16 scratch
 * first; outputs and gradients stay fp32 (the cast's gradient is the identity).
 */
package kd4j.autograd.ops;

import static kd4j.autograd.ops.Ops.act;
import static kd4j.autograd.ops.Ops.dense;
import static kd4j.autograd.ops.Ops.require;
import static kd4j.autograd.ops.Ops.scratch;

import kd4j.autograd.MatmulPrecision;
import kd4j.autograd.Tape;
import kd4j.autograd.Var;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;

public final class LinearOps {
    private LinearOps() {}

    /**
     * y = x W^T + b. x [.., in]; weight [out, in] F32/BF16/F16; bias [out] or null; y [.., out].
     * Backward: dX = dY W (assigned), dW += dY^T x, dB += sum over rows of dY. Under MatmulPrecision.BF16
     * (backends with supportsBf16Matmul) x, W and dY enter the GEMMs as bf16, accumulated in fp32.
     */
    public static Var linear(Var x, Var weight, Var bias) {
        Backend be = x.backend();
        Tensor xt = dense(x), w = weight.data();
        int in = xt.dim(-1);
        require(w.rank() == 2 && w.dim(1) == in, "linear", "weight must be [out, in] with in = x's last dim",
                "x", xt, "weight", w);
        int out = w.dim(0);
        require(bias == null || bias.data().numel() == out, "linear", "bias must be [out]", "weight", w,
                "bias", bias == null ? "null" : bias.data());
        Tensor y = scratch(be, act(xt), Ops.withLast(xt.shape(), out));
        boolean bf16 = MatmulPrecision.current() == MatmulPrecision.BF16;
        if (bf16 && !be.supportsBf16Matmul())
            throw new IllegalStateException("linear: bf16 matrix inputs need a backend with bf16 GEMM inputs; "
                    + be.name() + " computes in fp32 (use precision fp32 there)");
        Tensor x2 = xt.reshape(-1, in), y2 = y.reshape(-1, out);
        Tensor xIn = bf16 ? toBf16(be, x2) : x2, wIn = bf16 ? toBf16(be, w) : w;   // saved for backward
        be.gemm(false, true, 1f, xIn, wIn, 0f, y2);
        if (bias != null) be.add(y2, bias.data(), y2);
        return Tape.record("linear", y, (dOut, grads) -> {
            Tensor g2 = dOut.reshape(-1, out);
            Tensor gIn = bf16 && (grads.wants(x) || grads.wants(weight)) ? toBf16(be, g2) : g2;
            if (grads.wants(x)) be.gemm(false, false, 1f, gIn, wIn, 0f, grads.assign(x).reshape(-1, in));
            if (grads.wants(weight)) be.gemm(true, false, 1f, gIn, xIn, 1f, grads.accumulate(weight));
            if (bias != null && grads.wants(bias)) be.sumRowsBackward(g2, grads.accumulate(bias));
        }, x, weight, bias);
    }

    /**
     * c = op(a) op(b), op = transpose of the last two dims when the flag is set. a [.., M, K] ([.., K, M] when
     * transA); b [.., K, N] ([.., N, K] when transB) with the same leading dims as a, or rank 2 (shared by every
     * batch); c [.., M, N]. Backward assigns dA and dB.
     */
    public static Var matmul(Var a, Var b, boolean transA, boolean transB) {
        Backend be = a.backend();
        Tensor at = dense(a), bt = dense(b);
        require(at.rank() >= 2 && bt.rank() >= 2 && (bt.rank() == 2 || bt.rank() == at.rank()), "matmul",
                "a must be [.., M, K] and b [.., K, N] with a's leading dims, or [K, N]", "a", at, "b", bt);
        int m = transA ? at.dim(-1) : at.dim(-2), k = transA ? at.dim(-2) : at.dim(-1);
        int bk = transB ? bt.dim(-1) : bt.dim(-2), n = transB ? bt.dim(-2) : bt.dim(-1);
        require(k == bk, "matmul", "inner dimensions differ (transA=" + transA + ", transB=" + transB + ")",
                "a", at, "b", bt);
        int[] outShape = at.shape();
        outShape[outShape.length - 2] = m;
        outShape[outShape.length - 1] = n;
        for (int i = 0; bt.rank() > 2 && i < at.rank() - 2; i++)
            require(at.dim(i) == bt.dim(i), "matmul", "batch dimensions differ", "a", at, "b", bt);
        Tensor c = scratch(be, act(at), outShape);
        Tensor a3 = batched(at), b3 = bt.rank() == 2 ? bt : batched(bt), c3 = batched(c);
        be.gemm(transA, transB, 1f, a3, b3, 0f, c3);
        return Tape.record("matmul", c, (dOut, grads) -> {
            Tensor g3 = batched(dOut);
            if (grads.wants(a)) {
                // d op(a) = dC op(b)^T, shape [.., M, K]; transposed back when a was used transposed
                Tensor dA = batched(grads.assign(a));
                if (!transA) be.gemm(false, !transB, 1f, g3, b3, 0f, dA);
                else {
                    Tensor tmp = scratch(be, dA.dtype(), dA.dim(0), m, k);
                    be.gemm(false, !transB, 1f, g3, b3, 0f, tmp);
                    be.copy(tmp.transpose(1, 2), dA);
                }
            }
            if (grads.wants(b)) {
                // d op(b) = op(a)^T dC, shape [K, N] per batch (summed over batches when b is shared)
                Tensor dB = grads.assign(b);
                Tensor tmp = transB ? scratch(be, dB.dtype(), b3.rank() == 2 ? new int[] {k, n}
                        : new int[] {b3.dim(0), k, n}) : (b3.rank() == 2 ? dB : batched(dB));
                if (b3.rank() == 3) be.gemm(!transA, false, 1f, a3, g3, 0f, tmp);
                else {
                    be.fill(tmp, 0.0);
                    for (int i = 0; i < a3.dim(0); i++)
                        be.gemm(!transA, false, 1f, a3.select(0, i), g3.select(0, i), 1f, tmp);
                }
                if (transB) be.copy(tmp.transpose(-1, -2), b3.rank() == 2 ? dB : batched(dB));
            }
        }, a, b);
    }

    /** An F32 tensor rounded to bf16 scratch (nearest even); other dtypes (bf16/f16 weights) as they are. */
    private static Tensor toBf16(Backend be, Tensor t) {
        if (t.dtype() != DType.F32) return t;
        Tensor out = scratch(be, DType.BF16, t.shape());
        be.copy(t, out);
        return out;
    }

    /** [.., R, C] as [Bt, R, C] (a view of a contiguous tensor). */
    private static Tensor batched(Tensor t) {
        return t.reshape(-1, t.dim(-2), t.dim(-1));
    }
}
