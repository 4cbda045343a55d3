/*
 * One pre-norm transformer block of Llama/Qwen: x + Attn(RMSNorm(x)), then + MLP(RMSNorm(.)).
 * HF names: <prefix>.input_layernorm, .self_attn.*, .post_attention_layernorm, .mlp.*.
 */
package kd4j.models.nn;

import kd4j.autograd.Var;
import kd4j.autograd.ops.ElementwiseOps;
import kd4j.tensor.Tensor;

public final class DecoderLayer {
    private final RmsNorm inputNorm, postAttentionNorm;
    private final Attention attention;
    private final SwiGluMlp mlp;
    private final int index;

    public DecoderLayer(WeightSource src, String prefix, int index, Attention.Spec spec, int intermediate,
                        boolean mlpBias) {
        this.index = index;
        inputNorm = new RmsNorm(src, prefix + ".input_layernorm.weight", spec.hidden(), spec.normEps());
        attention = new Attention(src, prefix + ".self_attn", spec);
        postAttentionNorm = new RmsNorm(src, prefix + ".post_attention_layernorm.weight", spec.hidden(), spec.normEps());
        mlp = new SwiGluMlp(src, prefix + ".mlp", spec.hidden(), intermediate, mlpBias, spec.initStd());
    }

    /** x [B*T, C] → [B*T, C]. */
    public Var forward(Var x, int batch, int time, Tensor keyMask, KvCache cache) {
        Var h = ElementwiseOps.add(x, attention.forward(inputNorm.forward(x), batch, time, keyMask, cache, index));
        return ElementwiseOps.add(h, mlp.forward(postAttentionNorm.forward(h)));
    }

    public Attention attention() { return attention; }
}
