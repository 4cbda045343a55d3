/*
 * What the attention families (Llama, Qwen2, Qwen3) share: the shapes and flags one decoder stack needs. A
 * family's config record implements this, and LlamaModel builds any of them; Qwen2 differs from Llama only in
 * the flags (q/k/v bias) and the defaults of its config keys.
 */
package kd4j.models;

import kd4j.models.nn.Attention;
import kd4j.models.nn.Rope;

public interface TransformerConfig extends ModelConfig {
    int numAttentionHeads();
    int numKeyValueHeads();
    int headDim();
    int intermediateSize();
    double rmsNormEps();
    Rope rope();
    int maxPositionEmbeddings();
    double initializerRange();
    /** Bias on q_proj, k_proj and v_proj. */
    boolean qkvBias();
    /** Bias on o_proj. */
    boolean outputBias();
    /** Bias on gate/up/down projections. */
    boolean mlpBias();
    /** Per-head RMSNorm of q and k before RoPE (Qwen3). */
    boolean qkNorm();

    default Attention.Spec attentionSpec() {
        return new Attention.Spec(hiddenSize(), numAttentionHeads(), numKeyValueHeads(), headDim(), qkvBias(),
                outputBias(), qkNorm(), rmsNormEps(), rope(), initializerRange());
    }
}
