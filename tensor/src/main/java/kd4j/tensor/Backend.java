/*
 * The kernel-level operations every kd4j backend provides: memory, then one family of ops after another, each
 * backward kernel directly under its forward. Models and autograd call only this interface, so a device backend
 * (OpenCL today, another tomorrow) slots in without any change above the tensor module.
 *
 * Conventions, stated once for every method below:
 *  - Tensors are contiguous unless a method says otherwise; compute is fp32. Weight-like arguments documented as
 *    "F32/BF16/F16" are widened to fp32 inside the kernel that reads them. The reference backend also accepts F64
 *    everywhere a method takes F32 (for finite-difference gradient checks) as long as all float arguments agree.
 *  - Accumulation rule (as in llm.c): gradients of *parameters* are accumulated (+=), gradients of *activations*
 *    are assigned (=), unless a method says otherwise. Merges of a value used twice are done by autograd.
 *  - An output never aliases an input unless the method says it may.
 *  - Token ids and targets are I32. Shapes are written [B, T, H, D] etc.: B batch, T query length, S key length,
 *    H heads, Hkv key/value heads, D head dim, C channels, V vocabulary, R rows, N tokens.
 *  - A method that detects mismatched shapes throws ShapeException naming itself and the shapes. The checks are
 *    BackendChecks, written once and called first by every backend, so the same mistake reads the same everywhere.
 */
package kd4j.tensor;

import java.lang.foreign.MemorySegment;

public interface Backend extends AutoCloseable {

    // ==== identity and memory ====

    /** Short name: "cpu", "reference", "opencl:0". */
    String name();

    /** One line for logs and metrics: device, driver, threads. */
    String describe();

    /**
     * Bytes of tensor memory this backend can hold at most (a device's global memory; on the host, the JVM's
     * native-memory limit, -XX:MaxDirectMemorySize), or -1 when unknown. Memory plans compare against it.
     */
    default long memoryCapacityBytes() { return -1; }

    /** Zero-filled storage for count elements of dtype. */
    Storage allocate(DType dtype, long count);

    /** Host → backend. src holds dst.numel() elements of dst.dtype() in little-endian order; dst contiguous. */
    void copyIn(Tensor dst, MemorySegment src);

    /** Backend → host; waits until the data is there. src contiguous. */
    void copyOut(Tensor src, MemorySegment dst);

    /**
     * dst = src elementwise, same shape; both may have any strides. Converts between floating dtypes
     * (F32, F64, BF16 with round-to-nearest-even, F16) and between I32 and I64.
     */
    void copy(Tensor src, Tensor dst);

    /** Every element of dst (contiguous) set to value. */
    void fill(Tensor dst, double value);

    /** Waits until all queued work is done. */
    void sync();

    @Override
    void close();

    // ---- convenience, shared by all backends ----

    default Tensor empty(DType dtype, int... shape) {
        return Tensor.of(allocate(dtype, Tensor.numel(shape)), dtype, shape);
    }

    default Tensor zeros(DType dtype, int... shape) { return empty(dtype, shape); }

    default Tensor fromFloats(float[] values, int... shape) {
        return from("fromFloats", MemorySegment.ofArray(values), values.length, DType.F32, shape);
    }

    default Tensor fromDoubles(double[] values, int... shape) {
        return from("fromDoubles", MemorySegment.ofArray(values), values.length, DType.F64, shape);
    }

    default Tensor fromInts(int[] values, int... shape) {
        return from("fromInts", MemorySegment.ofArray(values), values.length, DType.I32, shape);
    }

    /** A new tensor of the given shape holding count host values of dtype. */
    private Tensor from(String op, MemorySegment values, int count, DType dtype, int[] shape) {
        if (count != Tensor.numel(shape)) throw ShapeException.of(op, count + " values do not fill", "shape", shape);
        Tensor t = empty(dtype, shape);
        copyIn(t, values);
        return t;
    }

    /** The same values on this backend (a copy, also when src is already here). */
    default Tensor upload(Tensor src) {
        Tensor out = empty(src.dtype(), src.shape());
        if (src.backend() == this) { copy(src, out); return out; }
        Tensor host = src.contiguous();
        MemorySegment buf = MemorySegment.ofArray(new byte[Math.toIntExact(host.numel() * host.dtype().byteSize())]);
        host.backend().copyOut(host, buf);
        copyIn(out, buf);
        return out;
    }

    // ==== elementwise family ====

    /**
     * out = a + b. b has a's shape, or b's shape equals the trailing dims of a and b is broadcast over a's leading
     * dims (bias and residual adds). out may alias a.
     */
    void add(Tensor a, Tensor b, Tensor out);

    /** acc += alpha * x, same numel (gradient accumulation, residual merges). */
    void addScaled(Tensor acc, Tensor x, float alpha);

    /** out = a * b; b has a's shape or is broadcast over a's leading dims like add. out may alias a. */
    void mul(Tensor a, Tensor b, Tensor out);

    /** out = alpha * x. out may alias x. */
    void scale(Tensor x, float alpha, Tensor out);

    /** dB[c] += sum over rows r of dOut[r, c]; dOut viewed as [R, C] with C = dB.numel() (bias gradients). */
    void sumRowsBackward(Tensor dOut, Tensor dB);

    /** out = x * sigmoid(x). */
    void siluForward(Tensor x, Tensor out);
    /** dX = dOut * (s + x * s * (1 - s)), s = sigmoid(x). */
    void siluBackward(Tensor dOut, Tensor x, Tensor dX);

    /** out = x/2 * (1 + erf(x / sqrt(2))) (exact GELU, HF "gelu"). */
    void geluForward(Tensor x, Tensor out);
    void geluBackward(Tensor dOut, Tensor x, Tensor dX);

    /** out = log(1 + exp(x)), and x itself for x > 20 (as PyTorch's softplus threshold). out may not alias x. */
    void softplusForward(Tensor x, Tensor out);
    /** dX = dOut * sigmoid(x) (dOut for x > 20). */
    void softplusBackward(Tensor dOut, Tensor x, Tensor dX);

    /** out = silu(gate) * up (SwiGLU). gate, up, out same shape. */
    void swigluForward(Tensor gate, Tensor up, Tensor out);
    /** dGate = dOut * up * silu'(gate), dUp = dOut * silu(gate). */
    void swigluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp);

    // ==== reduce family ====

    /** Sum of all elements, in double, returned to the host. */
    double sum(Tensor x);

    /** Sum of squares of all elements, in double, returned to the host (gradient norms). */
    double sumOfSquares(Tensor x);

    /** True if every element is finite (the -Dkd4j.checkFinite checker). */
    boolean allFinite(Tensor x);

    /** Row-wise softmax over the last dim: x, out [R, C]. out may alias x. */
    void softmaxForward(Tensor x, Tensor out);
    /** dX = out * (dOut - sum_c(dOut * out)) row-wise. */
    void softmaxBackward(Tensor dOut, Tensor out, Tensor dX);

    /** Row-wise log-softmax over the last dim: x, out [R, C]. */
    void logSoftmaxForward(Tensor x, Tensor out);
    /** dX = dOut - exp(out) * sum_c(dOut). */
    void logSoftmaxBackward(Tensor dOut, Tensor out, Tensor dX);

    // ==== norm family ====

    /** out[r,:] = x[r,:] * invRms[r] * w; invRms[r] = 1/sqrt(mean(x[r,:]^2) + eps). x, out [R, C]; w [C] F32/BF16; invRms [R] saved. */
    void rmsNormForward(Tensor x, Tensor w, float eps, Tensor out, Tensor invRms);
    /** dX (=), dW (+=), using invRms from the forward. */
    void rmsNormBackward(Tensor dOut, Tensor x, Tensor w, Tensor invRms, Tensor dX, Tensor dW);

    /** out = (x - mean) * invStd * w + b per row; mean, invStd [R] saved. b may be null. */
    void layerNormForward(Tensor x, Tensor w, Tensor b, float eps, Tensor out, Tensor mean, Tensor invStd);
    /** dX (=), dW (+=), dB (+=, skipped when null). */
    void layerNormBackward(Tensor dOut, Tensor x, Tensor w, Tensor mean, Tensor invStd, Tensor dX, Tensor dW, Tensor dB);

    // ==== gemm family ====

    /**
     * c = alpha * op(a) op(b) + beta * c, op(x) = x or x^T over the last two dims.
     * a: [M, K] ([K, M] when transA) or batched [Bt, M, K]; b: [K, N] ([N, K] when transB) or [Bt, K, N]
     * (a rank-2 b is shared by every batch); c: [M, N] or [Bt, M, N]. a and c F32; b F32/BF16/F16; a may also be
     * BF16 where supportsBf16Matmul() (each product of bf16 inputs is exact in fp32; accumulation is fp32).
     * beta = 0 means c is overwritten (its old contents, even NaN, are ignored).
     */
    void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c);

    /**
     * True when gemm also takes a as BF16 (mixed-precision training: bf16 inputs, fp32 accumulation, run.precision
     * bf16). Backends without it (the CPU) compute every GEMM with an fp32 a.
     */
    default boolean supportsBf16Matmul() { return false; }

    // ==== rope family ====

    /**
     * Rotary embedding, HF "rotate half" convention: x, out [B, T, H, D]; invFreq [D/2]; the token at index t
     * has position positionOffset + t. out[.., i] = x[i] cos(a_i) - x[i + D/2] sin(a_i) and
     * out[.., i + D/2] = x[i + D/2] cos(a_i) + x[i] sin(a_i), a_i = position * invFreq[i]. out may alias x.
     */
    void ropeForward(Tensor x, Tensor invFreq, int positionOffset, Tensor out);
    /** dX = rotation of dOut by the negative angles. dX may alias dOut. */
    void ropeBackward(Tensor dOut, Tensor invFreq, int positionOffset, Tensor dX);

    // ==== embedding family ====

    /** out[n, :] = table[ids[n], :]. ids I32 [N] (any shape, numel N); table [V, C] F32/BF16/F16; out [N, C]. */
    void embeddingForward(Tensor ids, Tensor table, Tensor out);
    /** dTable[ids[n], :] += dOut[n, :] (scatter-add; repeated ids accumulate). */
    void embeddingBackward(Tensor dOut, Tensor ids, Tensor dTable);

    // ==== attention family ====

    /**
     * Causal grouped-query attention computed tile by tile with an online softmax (never a [T, S] score matrix).
     * q [B, T, H, D]; k, v [B, S, Hkv, D] (H a multiple of Hkv; query head h uses kv head h / (H / Hkv));
     * k and v may have any batch stride as long as each [S, Hkv, D] block is contiguous (a KV-cache view).
     * Query t sits at absolute position queryOffset + t and sees keys s <= queryOffset + t whose keyMask[b, s] != 0
     * (keyMask I32 [B, S], or null for all keys). out [B, T, H, D]; lse [B, H, T] F32 saved: the log-sum-exp of
     * the scaled scores of each query row (-inf and a zero output when no key is visible).
     */
    void attentionForward(Tensor q, Tensor k, Tensor v, float scale, int queryOffset, Tensor keyMask,
                          Tensor out, Tensor lse);
    /** dQ, dK, dV all assigned (=); recomputes scores tile by tile from q, k and lse. */
    void attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, float scale,
                           int queryOffset, Tensor keyMask, Tensor dQ, Tensor dK, Tensor dV);

    // ==== cross-entropy family (log-softmax fused, chunked over V) ====

    /**
     * losses[n] = logsumexp(logits[n, :]) - logits[n, targets[n]]; lse[n] saved. logits [N, V]; targets I32 [N];
     * rows whose target equals ignoreIndex get loss 0 (lse is still written).
     */
    void crossEntropyForward(Tensor logits, Tensor targets, int ignoreIndex, Tensor losses, Tensor lse);
    /** dLogits[n, v] = dLosses[n] * (softmax(logits[n])[v] - [v == targets[n]]); 0 rows for ignored targets. */
    void crossEntropyBackward(Tensor dLosses, Tensor logits, Tensor targets, Tensor lse, int ignoreIndex,
                              Tensor dLogits);

    // ==== distill family (logit KD losses between a student and a teacher over the same vocabulary) ====

    /**
     * Per-token divergence between teacher and student distributions at temperature tau, computed in chunks over
     * V: student, teacher [N, V]; perToken [N]. FORWARD_KL: sum pt (lt - ls); REVERSE_KL: sum ps (ls - lt);
     * SOFT_CE: -sum pt ls; MSE: mean_v (student - teacher)^2 (tau ignored). lt, ls = log_softmax(x / tau).
     */
    void distillForward(Divergence divergence, float tau, Tensor student, Tensor teacher, Tensor perToken);
    /** dStudent[n, :] = dPerToken[n] * d perToken[n] / d student[n, :] (assigned). */
    void distillBackward(Divergence divergence, float tau, Tensor dPerToken, Tensor student, Tensor teacher,
                         Tensor dStudent);

    /**
     * Sparse soft-target cross-entropy against a cached teacher (offline KD): perToken[n] =
     * -sum_k probs[n, k] * log_softmax(student[n] / tau)[ids[n, k]], skipping ids < 0. student [N, V];
     * ids I32 [N, K]; probs F32 [N, K]; lse [N] saved (logsumexp of student / tau).
     */
    void sparseDistillForward(float tau, Tensor student, Tensor ids, Tensor probs, Tensor perToken, Tensor lse);
    /** dStudent[n, v] = dPerToken[n] / tau * (softmax(student[n] / tau)[v] * sum_k probs[n, k] - probs at v). */
    void sparseDistillBackward(float tau, Tensor dPerToken, Tensor student, Tensor ids, Tensor probs, Tensor lse,
                               Tensor dStudent);

    /** The dense divergences of distillForward. */
    enum Divergence { FORWARD_KL, REVERSE_KL, SOFT_CE, MSE }

    // ==== conv/scan family (Mamba) ====

    /** Causal depthwise conv: out[b,t,c] = bias[c] + sum_j w[c, j] x[b, t - (K-1) + j, c] (x before 0 is 0). x, out [B, T, C]; w [C, K]; bias [C] or null. */
    void causalConv1dForward(Tensor x, Tensor w, Tensor bias, Tensor out);
    /** dX (=), dW (+=), dBias (+=, skipped when null). */
    void causalConv1dBackward(Tensor dOut, Tensor x, Tensor w, Tensor dX, Tensor dW, Tensor dBias);

    /**
     * Mamba-1 selective scan, state s [I, N] per sequence starting at 0: for t = 0..T-1,
     * s = exp(delta[t] * A) * s + delta[t] * B[t] * u[t], y[t] = s C[t] + D * u[t], with A = -exp(aLog).
     * u, delta, y [B, T, I]; aLog [I, N]; bMat, cMat [B, T, N]; d [I]. Nothing is saved: the backward recomputes
     * the states.
     */
    void selectiveScanForward(Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d, Tensor y);
    /** dU, dDelta, dB, dC assigned (=); dALog, dD accumulated (+=). */
    void selectiveScanBackward(Tensor dY, Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d,
                               Tensor dU, Tensor dDelta, Tensor dALog, Tensor dB, Tensor dC, Tensor dD);

    /**
     * One decoding step of the conv: convState [B, C, K-1] holds the previous K-1 inputs (oldest first) and is
     * shifted in place; x, out [B, C]. Equals causalConv1dForward on the whole sequence, one step at a time.
     */
    void causalConv1dStep(Tensor x, Tensor w, Tensor bias, Tensor convState, Tensor out);

    /** One decoding step of the scan: state [B, I, N] updated in place; u, delta, y [B, I]; bMat, cMat [B, N]. */
    void selectiveScanStep(Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d, Tensor state,
                           Tensor y);

    // ==== optim family ====

    /**
     * AdamW with decoupled weight decay, in place: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
     * p -= lr * (m / (1 - b1^step) / (sqrt(v / (1 - b2^step)) + eps) + weightDecay * p). step counts from 1.
     */
    void adamwStep(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                   float weightDecay, int step);

    /**
     * adamwStep for every i: params, grads, moments m and v as parallel lists, weightDecay[i] per tensor; the
     * result is bit-identical to one adamwStep per tensor. A backend may run it as one launch (OpenCL does when
     * each list lives in one storage, parameter i at the same offset in all four: PackedParameters and AdamW).
     */
    default void adamwSteps(java.util.List<Tensor> params, java.util.List<Tensor> grads, java.util.List<Tensor> m,
                            java.util.List<Tensor> v, float lr, float beta1, float beta2, float eps, float[] weightDecay,
                            int step) {
        for (int i = 0; i < params.size(); i++)
            adamwStep(params.get(i), grads.get(i), m.get(i), v.get(i), lr, beta1, beta2, eps, weightDecay[i], step);
    }

    /** SGD with momentum and decoupled weight decay: buf = momentum buf + g; p -= lr * (buf + weightDecay * p). */
    void sgdStep(Tensor param, Tensor grad, Tensor momentumBuffer, float lr, float momentum, float weightDecay);
}
