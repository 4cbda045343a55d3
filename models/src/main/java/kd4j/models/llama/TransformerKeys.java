/*
 * The config.json keys Llama, Qwen2 and Qwen3 share, read once with their defaults and checked for the values
 * kd4j does not implement (hidden_act other than silu, sliding-window attention, unknown rope types, partial
 * rotary embeddings, attention dropout, and keys of related families that change the math). Audit rule: a key
 * that changes the forward or backward pass is either honoured or refused by name; keys that only matter to
 * initialisation, caching or generation defaults (use_cache, pretraining_tp, sliding_window while
 * use_sliding_window is false, max_window_layers, ...) are read by nobody.
 */
package kd4j.models.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import kd4j.models.TransformerConfig;
import kd4j.models.io.CheckpointFormatException;
import kd4j.models.io.ConfigJson;
import kd4j.models.nn.Rope;

public record TransformerKeys(int vocabSize, int hidden, int layers, int heads, int kvHeads, int headDim,
                              int intermediate, double eps, Rope rope, int maxPositions, double initRange,
                              boolean tie) {

    public static TransformerKeys read(ConfigJson json, double defaultEps, double defaultTheta, boolean defaultTie) {
        int hidden = positive(json, "hidden_size");
        int heads = positive(json, "num_attention_heads");
        int kvHeads = json.optInt("num_key_value_heads", heads);
        if (kvHeads <= 0 || heads % kvHeads != 0)
            throw new CheckpointFormatException(json.file(), "\"num_key_value_heads\"", "must divide"
                    + " num_attention_heads=" + heads + ", found " + kvHeads);
        int headDim = json.optInt("head_dim", hidden / heads);
        if (headDim <= 0 || headDim % 2 != 0)
            throw new CheckpointFormatException(json.file(), "\"head_dim\"", "must be a positive even number"
                    + " (RoPE rotates pairs), found " + headDim);
        String act = json.optString("hidden_act", "silu");
        if (!act.equals("silu"))
            throw new CheckpointFormatException(json.file(), "\"hidden_act\"", "'" + act + "' is not supported"
                    + " (supported: silu)");
        if (json.optBoolean("use_sliding_window", false))
            throw new CheckpointFormatException(json.file(), "\"use_sliding_window\"", "sliding-window attention"
                    + " is not supported");
        refuseUnsupportedMath(json);
        return new TransformerKeys(positive(json, "vocab_size"), hidden, positive(json, "num_hidden_layers"),
                heads, kvHeads, headDim, positive(json, "intermediate_size"), json.optDouble("rms_norm_eps", defaultEps),
                rope(json, defaultTheta), json.optInt("max_position_embeddings", 2048),
                json.optDouble("initializer_range", 0.02), json.optBoolean("tie_word_embeddings", defaultTie));
    }

    /**
     * Keys that other members of these families (or their transformers-5 configs) use to change the math, and
     * which kd4j does not implement: refused by name rather than silently ignored.
     */
    static final List<String> UNSUPPORTED_MATH_KEYS = List.of("final_logit_softcapping", "attn_logit_softcapping",
            "logits_scaling", "embedding_multiplier", "residual_multiplier", "attention_multiplier",
            "query_pre_attn_scalar", "use_qk_norm", "no_rope_layers", "num_experts", "num_local_experts");

    private static void refuseUnsupportedMath(ConfigJson json) {
        JsonNode types = json.root().get("layer_types");
        if (types != null && !types.isNull()) {
            if (!types.isArray())
                throw new CheckpointFormatException(json.file(), "\"layer_types\"", "expected an array, found " + types);
            for (int i = 0; i < types.size(); i++)
                if (!types.get(i).asText().equals("full_attention"))
                    throw new CheckpointFormatException(json.file(), "\"layer_types\"[" + i + "]", "'"
                            + types.get(i).asText() + "' is not supported (supported: full_attention)");
        }
        double dropout = json.optDouble("attention_dropout", 0);
        if (dropout != 0)
            throw new CheckpointFormatException(json.file(), "\"attention_dropout\"", "attention dropout is not"
                    + " supported (kd4j trains without dropout), found " + dropout + "; set it to 0.0");
        double partial = json.rope(1).optDouble("partial_rotary_factor", json.optDouble("partial_rotary_factor", 1));
        if (partial != 1)
            throw new CheckpointFormatException(json.file(), "\"partial_rotary_factor\"", "partial rotary"
                    + " embeddings are not supported (only 1.0), found " + partial);
        for (String key : UNSUPPORTED_MATH_KEYS)
            if (json.has(key) && !(json.root().get(key).isBoolean() && !json.root().get(key).asBoolean()))
                throw new CheckpointFormatException(json.file(), "\"" + key + "\"", "is not supported by "
                        + json.architecture() + " in kd4j (it changes the forward pass), found "
                        + json.root().get(key));
    }

    static int positive(ConfigJson json, String key) {
        int v = json.requireInt(key);
        if (v <= 0) throw new CheckpointFormatException(json.file(), "\"" + key + "\"", "must be positive, found " + v);
        return v;
    }

    static Rope rope(ConfigJson json, double defaultTheta) {
        ConfigJson r = json.rope(defaultTheta);
        String type = r.optString("rope_type", "default");
        if (!Rope.SUPPORTED.contains(type))
            throw new CheckpointFormatException(json.file(), "rope type", "'" + type + "' is not supported"
                    + " (supported: " + Rope.SUPPORTED + ")");
        double theta = r.optDouble("rope_theta", defaultTheta);
        return switch (type) {
            case "default" -> Rope.plain(theta);
            case "linear" -> new Rope(theta, type, requireNumber(r, json, "factor"), 0, 0, 0);
            default -> new Rope(theta, type, requireNumber(r, json, "factor"), r.optDouble("low_freq_factor", 1),
                    r.optDouble("high_freq_factor", 4), r.requireInt("original_max_position_embeddings"));
        };
    }

    private static double requireNumber(ConfigJson r, ConfigJson json, String key) {
        double v = r.optDouble(key, Double.NaN);
        if (Double.isNaN(v))
            throw new CheckpointFormatException(json.file(), "rope \"" + key + "\"", "missing (a number is required)");
        return v;
    }

    /** The shared keys in the transformers 4.x layout (top-level rope_theta/rope_scaling), which 4.x and 5 both load. */
    public static ObjectNode write(TransformerConfig c, String modelType) {
        ObjectNode n = ConfigJson.newObject();
        n.putArray("architectures").add(c.architecture());
        n.put("model_type", modelType);
        n.put("vocab_size", c.vocabSize());
        n.put("hidden_size", c.hiddenSize());
        n.put("intermediate_size", c.intermediateSize());
        n.put("num_hidden_layers", c.numHiddenLayers());
        n.put("num_attention_heads", c.numAttentionHeads());
        n.put("num_key_value_heads", c.numKeyValueHeads());
        n.put("head_dim", c.headDim());
        n.put("hidden_act", "silu");
        n.put("max_position_embeddings", c.maxPositionEmbeddings());
        n.put("rms_norm_eps", c.rmsNormEps());
        n.put("initializer_range", c.initializerRange());
        n.put("tie_word_embeddings", c.tieWordEmbeddings());
        if (c.bosTokenId() >= 0) n.put("bos_token_id", c.bosTokenId()); else n.putNull("bos_token_id");
        if (c.eosTokenId() >= 0) n.put("eos_token_id", c.eosTokenId()); else n.putNull("eos_token_id");
        Rope rope = c.rope();
        n.put("rope_theta", rope.theta());
        if (rope.type().equals("default")) n.putNull("rope_scaling");
        else {
            ObjectNode s = n.putObject("rope_scaling");
            s.put("rope_type", rope.type());
            s.put("factor", rope.factor());
            if (rope.type().equals("llama3")) {
                s.put("low_freq_factor", rope.lowFreqFactor());
                s.put("high_freq_factor", rope.highFreqFactor());
                s.put("original_max_position_embeddings", rope.originalMaxPositionEmbeddings());
            }
        }
        n.put("torch_dtype", "float32");
        n.put("use_cache", true);
        return n;
    }
}
