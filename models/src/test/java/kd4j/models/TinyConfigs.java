/* Small configs of every family for save/load, decode and generation tests (random weights). */
package kd4j.models;

import java.nio.file.Path;
import java.util.Map;

final class TinyConfigs {
    private TinyConfigs() {}

    static final String LLAMA = """
            {"architectures": ["LlamaForCausalLM"], "vocab_size": 61, "hidden_size": 32, "intermediate_size": 40,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-5,
             "rope_theta": 500000.0, "initializer_range": 0.2, "tie_word_embeddings": false,
             "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                              "original_max_position_embeddings": 16},
             "bos_token_id": 1, "eos_token_id": 2}""";

    static final String QWEN2 = """
            {"architectures": ["Qwen2ForCausalLM"], "vocab_size": 61, "hidden_size": 32, "intermediate_size": 40,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1, "rms_norm_eps": 1e-6,
             "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0}, "initializer_range": 0.2,
             "tie_word_embeddings": true, "bos_token_id": 0, "eos_token_id": 0}""";

    static final String QWEN3 = """
            {"architectures": ["Qwen3ForCausalLM"], "vocab_size": 61, "hidden_size": 32, "intermediate_size": 40,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
             "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "initializer_range": 0.2, "tie_word_embeddings": true}""";

    static final String MAMBA = """
            {"architectures": ["MambaForCausalLM"], "vocab_size": 61, "hidden_size": 16, "state_size": 4,
             "num_hidden_layers": 2, "expand": 2, "conv_kernel": 4, "time_step_rank": "auto",
             "layer_norm_epsilon": 1e-5, "initializer_range": 0.3, "tie_word_embeddings": true}""";

    static final Map<String, String> ALL = Map.of("llama", LLAMA, "qwen2", QWEN2, "qwen3", QWEN3, "mamba", MAMBA);

    static ModelConfig parse(String json) { return Models.parseConfig(json, Path.of("test-config.json")); }
}
