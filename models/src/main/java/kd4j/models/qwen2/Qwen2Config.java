/*
 * Qwen2 / Qwen2.5 (HF Qwen2ForCausalLM): Llama's architecture plus a bias on q/k/v (not on o_proj); and Qwen3
 * (Qwen3ForCausalLM): per-head RMSNorm of q and k, explicit head_dim, and attention_bias putting a bias on
 * q/k/v *and* o_proj (transformers' Qwen3Attention builds all four Linears with bias=config.attention_bias).
 * Sliding-window attention is not supported (Qwen's released dense models leave it off).
 */
package kd4j.models.qwen2;

import com.fasterxml.jackson.databind.node.ObjectNode;
import kd4j.models.TransformerConfig;
import kd4j.models.io.ConfigJson;
import kd4j.models.llama.TransformerKeys;
import kd4j.models.nn.Rope;

public record Qwen2Config(String architecture, int vocabSize, int hiddenSize, int numHiddenLayers,
                          int numAttentionHeads, int numKeyValueHeads, int headDim, int intermediateSize,
                          double rmsNormEps, Rope rope, int maxPositionEmbeddings, double initializerRange,
                          boolean qkvBias, boolean outputBias, boolean qkNorm, boolean tieWordEmbeddings, int bosTokenId,
                          int eosTokenId) implements TransformerConfig {
    public static final String ARCHITECTURE = "Qwen2ForCausalLM";
    public static final String QWEN3 = "Qwen3ForCausalLM";

    public static Qwen2Config parse(ConfigJson json) {
        TransformerKeys k = TransformerKeys.read(json, 1e-6, 10000.0, false);
        return new Qwen2Config(ARCHITECTURE, k.vocabSize(), k.hidden(), k.layers(), k.heads(), k.kvHeads(),
                k.headDim(), k.intermediate(), k.eps(), k.rope(), k.maxPositions(), k.initRange(), true, false, false,
                k.tie(), json.optTokenId("bos_token_id"), json.optTokenId("eos_token_id"));
    }

    public static Qwen2Config parseQwen3(ConfigJson json) {
        TransformerKeys k = TransformerKeys.read(json, 1e-6, 1000000.0, false);
        boolean attentionBias = json.optBoolean("attention_bias", false);
        return new Qwen2Config(QWEN3, k.vocabSize(), k.hidden(), k.layers(), k.heads(), k.kvHeads(),
                k.headDim(), k.intermediate(), k.eps(), k.rope(), k.maxPositions(), k.initRange(),
                attentionBias, attentionBias, true, k.tie(), json.optTokenId("bos_token_id"),
                json.optTokenId("eos_token_id"));
    }

    @Override public boolean mlpBias() { return false; }

    public ObjectNode toJson() {
        ObjectNode n = TransformerKeys.write(this, qkNorm ? "qwen3" : "qwen2");
        n.put("use_sliding_window", false);
        n.putNull("sliding_window");
        if (qkNorm) n.put("attention_bias", qkvBias);
        return n;
    }
}
