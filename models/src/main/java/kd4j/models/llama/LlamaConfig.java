/*
 * Llama 2 / 3 / 3.1 / 3.2 (HF LlamaForCausalLM): RMSNorm, SwiGLU, RoPE (optionally llama3-scaled), GQA,
 * optional attention/MLP bias, tied or untied lm_head. Keys as in config.json, camelCased.
 */
package kd4j.models.llama;

import com.fasterxml.jackson.databind.node.ObjectNode;
import kd4j.models.TransformerConfig;
import kd4j.models.io.ConfigJson;
import kd4j.models.nn.Rope;

public record LlamaConfig(String architecture, int vocabSize, int hiddenSize, int numHiddenLayers,
                          int numAttentionHeads, int numKeyValueHeads, int headDim, int intermediateSize,
                          double rmsNormEps, Rope rope, int maxPositionEmbeddings, double initializerRange,
                          boolean attentionBias, boolean mlpBias, boolean tieWordEmbeddings, int bosTokenId,
                          int eosTokenId) implements TransformerConfig {
    public static final String ARCHITECTURE = "LlamaForCausalLM";

    public static LlamaConfig parse(ConfigJson json) {
        TransformerKeys k = TransformerKeys.read(json, 1e-6, 10000.0, false);
        return new LlamaConfig(ARCHITECTURE, k.vocabSize(), k.hidden(), k.layers(), k.heads(), k.kvHeads(),
                k.headDim(), k.intermediate(), k.eps(), k.rope(), k.maxPositions(), k.initRange(),
                json.optBoolean("attention_bias", false), json.optBoolean("mlp_bias", false), k.tie(),
                json.optTokenId("bos_token_id"), json.optTokenId("eos_token_id"));
    }

    @Override public boolean qkvBias() { return attentionBias; }
    @Override public boolean outputBias() { return attentionBias; }
    @Override public boolean qkNorm() { return false; }

    public ObjectNode toJson() {
        ObjectNode n = TransformerKeys.write(this, "llama");
        n.put("attention_bias", attentionBias);
        n.put("mlp_bias", mlpBias);
        n.put("pretraining_tp", 1);
        return n;
    }
}
