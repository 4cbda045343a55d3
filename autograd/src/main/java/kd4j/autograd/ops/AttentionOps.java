/*
 * The rope and attention families as autograd ops: rotary position embedding (HF rotate-half) and causal
 * grouped-query attention. The attention forward saves only the per-row log-sum-exp; the backward recomputes the
 * scores from q and k.
 */
package kd4j.autograd.ops;

import static kd4j.autograd.ops.Ops.act;
import static kd4j.autograd.ops.Ops.assigned;
import static kd4j.autograd.ops.Ops.dense;
import static kd4j.autograd.ops.Ops.require;
import static kd4j.autograd.ops.Ops.scratch;

import kd4j.autograd.Tape;
import kd4j.autograd.Var;
import kd4j.tensor.Backend;
import kd4j.tensor.Tensor;

public final class AttentionOps {
    private AttentionOps() {}

    /** Rotates x [B, T, H, D] by position * invFreq [D/2]; token t sits at positionOffset + t. dX rotates back. */
    public static Var rope(Var x, Tensor invFreq, int positionOffset) {
        Backend be = x.backend();
        Tensor xt = dense(x);
        require(xt.rank() == 4, "rope", "x must be [B, T, H, D]", "x", xt);
        Tensor out = scratch(be, act(xt), xt.shape());
        be.ropeForward(xt, invFreq, positionOffset, out);
        return Tape.record("rope", out, (dOut, grads) ->
                be.ropeBackward(dOut, invFreq, positionOffset, grads.assign(x)), x);
    }

    /**
     * Causal GQA: q [B, T, H, D]; k, v [B, S, Hkv, D] (each [S, Hkv, D] block contiguous; a KV-cache view is
     * fine); query t at position queryOffset + t sees keys s <= queryOffset + t with keyMask[b, s] != 0
     * (keyMask I32 [B, S] or null). Returns [B, T, H, D]; saves lse [B, H, T]. dQ, dK, dV are assigned.
     */
    public static Var attention(Var q, Var k, Var v, float scale, int queryOffset, Tensor keyMask) {
        Backend be = q.backend();
        Tensor qt = dense(q), kt = k.data(), vt = v.data();
        require(qt.rank() == 4 && kt.rank() == 4 && vt.rank() == 4, "attention",
                "q must be [B, T, H, D], k and v [B, S, Hkv, D]", "q", qt, "k", kt, "v", vt);
        Tensor out = scratch(be, act(qt), qt.shape());
        Tensor lse = scratch(be, act(qt), qt.dim(0), qt.dim(2), qt.dim(1));
        be.attentionForward(qt, kt, vt, scale, queryOffset, keyMask, out, lse);
        return Tape.record("attention", out, (dOut, grads) ->
                be.attentionBackward(dOut, qt, kt, vt, out, lse, scale, queryOffset, keyMask,
                        assigned(grads, q), assigned(grads, k), assigned(grads, v)), q, k, v);
    }
}
