/*
 * Causal self-attention of the Llama/Qwen family: q/k/v projections (optional bias: Qwen2, Llama
 * attention_bias), optional per-head RMSNorm of q and k (Qwen3), rotary embedding, grouped-query attention
 * (query head h reads kv head h / (H / Hkv)) and the output projection. One class for every family: a family
 * differs only in the flags of Attention.Spec. Training and scoring pass no cache; decoding passes the KvCache.
 */
package kd4j.models.nn;

import kd4j.autograd.Var;
import kd4j.autograd.ops.AttentionOps;
import kd4j.autograd.ops.ShapeOps;
import kd4j.tensor.Backend;
import kd4j.tensor.Tensor;

public final class Attention {
    /** Shapes and flags: H query heads, Hkv kv heads, D head dim; which projections have a bias. */
    public record Spec(int hidden, int numHeads, int numKvHeads, int headDim, boolean qkvBias, boolean outputBias,
                       boolean qkNorm, double normEps, Rope rope, double initStd) {}

    private final Linear q, k, v, o;
    private final RmsNorm qNorm, kNorm;
    private final Tensor invFreq;
    private final int heads, kvHeads, headDim;
    private final float scale;

    public Attention(WeightSource src, String prefix, Spec spec) {
        if (spec.numHeads() % spec.numKvHeads() != 0)
            throw new IllegalArgumentException(prefix + ": num_attention_heads " + spec.numHeads()
                    + " is not a multiple of num_key_value_heads " + spec.numKvHeads());
        heads = spec.numHeads();
        kvHeads = spec.numKvHeads();
        headDim = spec.headDim();
        q = new Linear(src, prefix + ".q_proj", spec.hidden(), heads * headDim, spec.qkvBias(), spec.initStd());
        k = new Linear(src, prefix + ".k_proj", spec.hidden(), kvHeads * headDim, spec.qkvBias(), spec.initStd());
        v = new Linear(src, prefix + ".v_proj", spec.hidden(), kvHeads * headDim, spec.qkvBias(), spec.initStd());
        o = new Linear(src, prefix + ".o_proj", heads * headDim, spec.hidden(), spec.outputBias(), spec.initStd());
        qNorm = spec.qkNorm() ? new RmsNorm(src, prefix + ".q_norm.weight", headDim, spec.normEps()) : null;
        kNorm = spec.qkNorm() ? new RmsNorm(src, prefix + ".k_norm.weight", headDim, spec.normEps()) : null;
        Backend be = src.backend();
        invFreq = be.fromFloats(spec.rope().inverseFrequencies(headDim), headDim / 2);
        scale = (float) (1.0 / Math.sqrt(headDim));
    }

    /**
     * x [B*T, C] → [B*T, C]. keyMask I32 [B, T] (1 = real token) or null. With a cache, the new keys and values
     * are appended at positions cache.length().. and the queries attend to everything cached so far.
     */
    public Var forward(Var x, int batch, int time, Tensor keyMask, KvCache cache, int layer) {
        Var qs = q.forward(x), ks = k.forward(x), vs = v.forward(x);                 // [B*T, H*D], [B*T, Hkv*D]
        if (qNorm != null) {                                                          // Qwen3: RMSNorm per head
            qs = ShapeOps.reshape(qNorm.forward(ShapeOps.reshape(qs, -1, headDim)), batch * time, heads * headDim);
            ks = ShapeOps.reshape(kNorm.forward(ShapeOps.reshape(ks, -1, headDim)), batch * time, kvHeads * headDim);
        }
        qs = ShapeOps.reshape(qs, batch, time, heads, headDim);                      // [B, T, H, D]
        ks = ShapeOps.reshape(ks, batch, time, kvHeads, headDim);                    // [B, T, Hkv, D]
        vs = ShapeOps.reshape(vs, batch, time, kvHeads, headDim);
        int offset = cache == null ? 0 : cache.length();
        qs = AttentionOps.rope(qs, invFreq, offset);
        ks = AttentionOps.rope(ks, invFreq, offset);
        if (cache != null) {                                                          // [B, offset+T, Hkv, D] views
            Tensor[] kv = cache.append(layer, ks.data(), vs.data());
            ks = Var.constant(kv[0]);
            vs = Var.constant(kv[1]);
        }
        Var out = AttentionOps.attention(qs, ks, vs, scale, offset, keyMask);        // [B, T, H, D]
        return o.forward(ShapeOps.reshape(out, batch * time, heads * headDim));      // [B*T, C]
    }

    public Tensor invFreq() { return invFreq; }
}
