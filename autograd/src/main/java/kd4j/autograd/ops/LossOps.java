/*
 * Losses and reductions as autograd ops: cross-entropy (fused log-softmax), the dense logit-distillation
 * divergences, sparse top-k distillation against a cached teacher, and the scalar reductions (mean, sum,
 * weighted sum) that turn per-token losses into the value backward starts from. Scalars have shape [] (rank 0).
 */
package kd4j.autograd.ops;

import static kd4j.autograd.ops.Ops.act;
import static kd4j.autograd.ops.Ops.dense;
import static kd4j.autograd.ops.Ops.require;
import static kd4j.autograd.ops.Ops.scratch;

import kd4j.autograd.Tape;
import kd4j.autograd.Var;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;

public final class LossOps {
    private LossOps() {}

    /** Mean cross-entropy over the rows whose target is not ignoreIndex (0 when every row is ignored). */
    public static Var crossEntropy(Var logits, Tensor targets, int ignoreIndex) {
        int counted = 0;
        for (int t : targets.toIntArray()) if (t != ignoreIndex) counted++;
        return scaledSum("crossEntropy", crossEntropyPerToken(logits, targets, ignoreIndex),
                counted == 0 ? 0.0 : 1.0 / counted);
    }

    /**
     * Per-token cross-entropy [N]: lse(logits[n]) - logits[n, targets[n]], 0 for ignored rows. logits [N, V] or
     * [B, T, V]; targets I32 with N elements. Saves lse [N].
     */
    public static Var crossEntropyPerToken(Var logits, Tensor targets, int ignoreIndex) {
        Backend be = logits.backend();
        Tensor lt = dense(logits);
        int vocab = lt.dim(-1);
        Tensor l2 = lt.reshape(-1, vocab);
        int rows = l2.dim(0);
        require(targets.numel() == rows, "crossEntropy", "targets must have one id per row of logits",
                "logits", lt, "targets", targets);
        Tensor tg = targets.reshape(rows);
        Tensor losses = scratch(be, act(lt), rows), lse = scratch(be, act(lt), rows);
        be.crossEntropyForward(l2, tg, ignoreIndex, losses, lse);
        return Tape.record("crossEntropy", losses, (dOut, grads) ->
                be.crossEntropyBackward(dOut, l2, tg, lse, ignoreIndex, grads.assign(logits).reshape(-1, vocab)),
                logits);
    }

    /**
     * Per-token divergence [N] between student and teacher logits (same shape, [N, V] or [B, T, V]) at
     * temperature tau; see Backend.distillForward. The teacher is a constant.
     */
    public static Var distill(Backend.Divergence divergence, float tau, Var student, Tensor teacher) {
        Backend be = student.backend();
        Tensor st = dense(student);
        require(st.sameShape(teacher), "distill", "student and teacher shapes differ", "student", st,
                "teacher", teacher);
        int vocab = st.dim(-1);
        Tensor s2 = st.reshape(-1, vocab), t2 = teacher.contiguous().reshape(-1, vocab);
        Tensor perToken = scratch(be, act(st), s2.dim(0));
        be.distillForward(divergence, tau, s2, t2, perToken);
        return Tape.record("distill", perToken, (dOut, grads) ->
                be.distillBackward(divergence, tau, dOut, s2, t2, grads.assign(student).reshape(-1, vocab)),
                student);
    }

    /**
     * Sparse soft-target cross-entropy [N] against cached teacher top-k: -sum_k probs[n,k] log_softmax(student[n]
     * / tau)[ids[n,k]], ids < 0 skipped. student [N, V] or [B, T, V]; ids I32 and probs [N, K] (or [B, T, K]).
     */
    public static Var sparseDistill(float tau, Var student, Tensor ids, Tensor probs) {
        Backend be = student.backend();
        Tensor st = dense(student);
        int vocab = st.dim(-1);
        Tensor s2 = st.reshape(-1, vocab);
        int rows = s2.dim(0);
        require(ids.sameShape(probs) && ids.numel() == (long) rows * ids.dim(-1), "sparseDistill",
                "ids and probs must be [N, K] with N rows of student", "student", st, "ids", ids, "probs", probs);
        int topK = ids.dim(-1);
        Tensor i2 = ids.contiguous().reshape(rows, topK), p2 = probs.contiguous().reshape(rows, topK);
        Tensor perToken = scratch(be, act(st), rows), lse = scratch(be, act(st), rows);
        be.sparseDistillForward(tau, s2, i2, p2, perToken, lse);
        return Tape.record("sparseDistill", perToken, (dOut, grads) ->
                be.sparseDistillBackward(tau, dOut, s2, i2, p2, lse, grads.assign(student).reshape(-1, vocab)),
                student);
    }

    /** Mean of all elements, a scalar. */
    public static Var mean(Var x) {
        long n = x.data().numel();
        return scaledSum("mean", x, n == 0 ? 0.0 : 1.0 / n);
    }

    /** Sum of all elements, a scalar. */
    public static Var sum(Var x) { return scaledSum("sum", x, 1.0); }

    /** sum_i perToken[i] * weights[i], a scalar; weights (same numel, a constant) e.g. a loss mask / count. */
    public static Var weightedSum(Var perToken, Tensor weights) {
        Backend be = perToken.backend();
        Tensor xt = dense(perToken);
        require(xt.numel() == weights.numel(), "weightedSum", "weights must have one value per element",
                "perToken", xt, "weights", weights);
        Tensor w = weights.contiguous().reshape(xt.shape());
        Tensor products = scratch(be, act(xt), xt.shape());
        be.mul(xt, w, products);
        Tensor out = scalar(be, act(xt), be.sum(products));
        return Tape.record("weightedSum", out, (dOut, grads) -> {
            // dX = dOut * w; dOut is a scalar, read once on the host
            Tensor dX = grads.assign(perToken);
            be.copy(w, dX);
            be.scale(dX, (float) dOut.item(), dX);
        }, perToken);
    }

    /** s * sum(x) as a scalar; dX = s * dOut everywhere. */
    private static Var scaledSum(String name, Var x, double s) {
        Backend be = x.backend();
        Tensor xt = dense(x);
        Tensor out = scalar(be, act(xt), s * be.sum(xt));
        return Tape.record(name, out, (dOut, grads) -> be.fill(grads.assign(x), s * dOut.item()), x);
    }

    private static Tensor scalar(Backend be, DType dtype, double value) {
        Tensor out = scratch(be, dtype);
        be.fill(out, value);
        return out;
    }
}
