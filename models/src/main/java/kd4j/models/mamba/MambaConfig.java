/*
 * Mamba-1 (HF MambaForCausalLM): RMSNorm residual blocks around a selective-state-space mixer; no attention,
 * no positions. intermediate_size = expand * hidden_size; time_step_rank "auto" = ceil(hidden / 16).
 */
package kd4j.models.mamba;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import kd4j.models.ModelConfig;
import kd4j.models.io.CheckpointFormatException;
import kd4j.models.io.ConfigJson;
import kd4j.models.nn.MambaMixer;

public record MambaConfig(int vocabSize, int hiddenSize, int numHiddenLayers, int intermediateSize, int stateSize,
                          int convKernel, int timeStepRank, double layerNormEpsilon, boolean useBias,
                          boolean useConvBias, double initializerRange, double timeStepMin, double timeStepMax,
                          double timeStepFloor, double timeStepScale, boolean tieWordEmbeddings, int bosTokenId,
                          int eosTokenId) implements ModelConfig {
    public static final String ARCHITECTURE = "MambaForCausalLM";

    @Override public String architecture() { return ARCHITECTURE; }

    public static MambaConfig parse(ConfigJson json) {
        int hidden = json.requireInt("hidden_size");
        int expand = json.optInt("expand", 2);
        int intermediate = json.optInt("intermediate_size", expand * hidden);
        JsonNode rankNode = json.root().get("time_step_rank");
        int rank;
        if (rankNode == null || rankNode.isNull() || (rankNode.isTextual() && rankNode.asText().equals("auto")))
            rank = (hidden + 15) / 16;
        else rank = json.requireInt("time_step_rank");
        String act = json.optString("hidden_act", "silu");
        if (!act.equals("silu"))
            throw new CheckpointFormatException(json.file(), "\"hidden_act\"", "'" + act + "' is not supported"
                    + " (supported: silu)");
        int layers = json.requireInt("num_hidden_layers"), vocab = json.requireInt("vocab_size");
        int state = json.optInt("state_size", 16), conv = json.optInt("conv_kernel", 4);
        if (hidden <= 0 || layers <= 0 || vocab <= 0 || intermediate <= 0 || state <= 0 || conv <= 0 || rank <= 0)
            throw new CheckpointFormatException(json.file(), null, "sizes must be positive: hidden_size=" + hidden
                    + " num_hidden_layers=" + layers + " vocab_size=" + vocab + " intermediate_size=" + intermediate
                    + " state_size=" + state + " conv_kernel=" + conv + " time_step_rank=" + rank);
        return new MambaConfig(vocab, hidden, layers, intermediate, state, conv, rank,
                json.optDouble("layer_norm_epsilon", 1e-5), json.optBoolean("use_bias", false),
                json.optBoolean("use_conv_bias", true), json.optDouble("initializer_range", 0.1),
                json.optDouble("time_step_min", 0.001), json.optDouble("time_step_max", 0.1),
                json.optDouble("time_step_floor", 1e-4), json.optDouble("time_step_scale", 1.0),
                json.optBoolean("tie_word_embeddings", true), json.optTokenId("bos_token_id"),
                json.optTokenId("eos_token_id"));
    }

    public MambaMixer.Spec mixerSpec() {
        return new MambaMixer.Spec(hiddenSize, intermediateSize, stateSize, convKernel, timeStepRank, useBias,
                useConvBias, initializerRange, timeStepMin, timeStepMax, timeStepFloor, timeStepScale);
    }

    public ObjectNode toJson() {
        ObjectNode n = ConfigJson.newObject();
        n.putArray("architectures").add(ARCHITECTURE);
        n.put("model_type", "mamba");
        n.put("vocab_size", vocabSize);
        n.put("hidden_size", hiddenSize);
        n.put("num_hidden_layers", numHiddenLayers);
        n.put("intermediate_size", intermediateSize);
        n.put("expand", intermediateSize / hiddenSize);
        n.put("state_size", stateSize);
        n.put("conv_kernel", convKernel);
        n.put("time_step_rank", timeStepRank);
        n.put("layer_norm_epsilon", layerNormEpsilon);
        n.put("use_bias", useBias);
        n.put("use_conv_bias", useConvBias);
        n.put("hidden_act", "silu");
        n.put("initializer_range", initializerRange);
        n.put("time_step_min", timeStepMin);
        n.put("time_step_max", timeStepMax);
        n.put("time_step_floor", timeStepFloor);
        n.put("time_step_scale", timeStepScale);
        n.put("time_step_init_scheme", "random");
        n.put("residual_in_fp32", true);
        n.put("rescale_prenorm_residual", false);
        n.put("tie_word_embeddings", tieWordEmbeddings);
        if (bosTokenId >= 0) n.put("bos_token_id", bosTokenId); else n.putNull("bos_token_id");
        if (eosTokenId >= 0) n.put("eos_token_id", eosTokenId); else n.putNull("eos_token_id");
        n.put("torch_dtype", "float32");
        n.put("use_cache", true);
        return n;
    }
}
