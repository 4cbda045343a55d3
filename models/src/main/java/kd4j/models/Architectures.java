/*
 * The one switch from a config.json's architectures[0] to a family: its config record and its model class.
 * Adding a family means adding a case here (and its package); nothing else dispatches on architecture names.
 */
package kd4j.models;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import kd4j.models.io.CheckpointFormatException;
import kd4j.models.io.ConfigJson;
import kd4j.models.llama.LlamaConfig;
import kd4j.models.llama.LlamaModel;
import kd4j.models.mamba.MambaConfig;
import kd4j.models.mamba.MambaModel;
import kd4j.models.nn.WeightSource;
import kd4j.models.qwen2.Qwen2Config;
import kd4j.models.qwen2.Qwen2Model;

public final class Architectures {
    public static final List<String> SUPPORTED = List.of(Qwen2Config.ARCHITECTURE, Qwen2Config.QWEN3,
            LlamaConfig.ARCHITECTURE, MambaConfig.ARCHITECTURE);

    private Architectures() {}

    /** The family config of a parsed config.json; an unsupported architecture names the file and the choices. */
    public static ModelConfig parse(ConfigJson json) {
        String arch = json.architecture();
        return switch (arch) {
            case Qwen2Config.ARCHITECTURE -> Qwen2Config.parse(json);
            case Qwen2Config.QWEN3 -> Qwen2Config.parseQwen3(json);
            case LlamaConfig.ARCHITECTURE -> LlamaConfig.parse(json);
            case MambaConfig.ARCHITECTURE -> MambaConfig.parse(json);
            default -> throw new CheckpointFormatException(json.file(), "\"architectures\"", "architecture '" + arch
                    + "' is not supported (supported: " + String.join(", ", SUPPORTED) + ")");
        };
    }

    /** The model of config with its weights from src. */
    public static CausalLM create(ModelConfig config, WeightSource src) {
        return switch (config) {
            case Qwen2Config c -> new Qwen2Model(c, src);
            case LlamaConfig c -> new LlamaModel(c, src);
            case MambaConfig c -> new MambaModel(c, src);
            default -> throw new IllegalArgumentException("no model family for config " + config.getClass().getName()
                    + " (supported: " + String.join(", ", SUPPORTED) + ")");
        };
    }

    /** config as an HF config.json object (transformers 4.x key layout, which transformers 5 also loads). */
    public static ObjectNode toJson(ModelConfig config) {
        return switch (config) {
            case Qwen2Config c -> c.toJson();
            case LlamaConfig c -> c.toJson();
            case MambaConfig c -> c.toJson();
            default -> throw new IllegalArgumentException("cannot write config " + config.getClass().getName());
        };
    }
}
