/*
 * HF config.json text for a pipeline ModelSpec: Qwen2ForCausalLM, LlamaForCausalLM or MambaForCausalLM with
 * the tokenizer's vocabulary and EOS, tied embeddings, RoPE theta 10^4. Parsed by kd4j.models like any
 * downloaded config, so the trained models load in transformers as they are.
 */
package kd4j.distill.pipeline;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

final class ModelJson {
    private ModelJson() {}

    static String of(PipelineConfig.ModelSpec m, int vocabSize, int eosId, int seq) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        switch (m.family()) {
            case "mamba" -> {
                n.putArray("architectures").add("MambaForCausalLM");
                n.put("model_type", "mamba").put("state_size", 16).put("conv_kernel", 4).put("expand", 2);
            }
            case "llama" -> {
                n.putArray("architectures").add("LlamaForCausalLM");
                transformer(n.put("model_type", "llama"), m, seq);
            }
            default -> {
                n.putArray("architectures").add("Qwen2ForCausalLM");
                transformer(n.put("model_type", "qwen2"), m, seq);
            }
        }
        n.put("vocab_size", vocabSize).put("hidden_size", m.hidden()).put("num_hidden_layers", m.layers())
                .put("tie_word_embeddings", true).put("eos_token_id", eosId);
        return n.toString();
    }

    /** Positions the models are built for: twice the training context (at least 512), so that zero-shot
     *  prompts a little longer than a training row still fit. */
    static int maxPositions(int seq) { return Math.max(512, 2 * seq); }

    private static void transformer(ObjectNode n, PipelineConfig.ModelSpec m, int seq) {
        n.put("num_attention_heads", m.heads()).put("num_key_value_heads", m.kvHeads())
                .put("intermediate_size", m.intermediate()).put("max_position_embeddings", maxPositions(seq))
                .put("rms_norm_eps", 1e-6).put("rope_theta", 10000.0).put("hidden_act", "silu")
                .put("initializer_range", 0.02);
    }
}
