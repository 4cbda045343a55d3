/*
 * The facade other modules call: load an HF directory, build a seeded random model from a config, save an HF
 * directory, and make next-token targets. Everything else in kd4j.models is reachable from here.
 */
package kd4j.models;

import java.nio.file.Path;
import kd4j.models.io.ConfigJson;
import kd4j.models.io.HfCheckpoint;
import kd4j.models.nn.RandomWeights;
import kd4j.tensor.Backend;

public final class Models {

    private Models() {}

    /** An HF model directory with every weight in F32 (trainable). */
    public static CausalLM load(Path dir, Backend be) { return HfCheckpoint.load(dir, be, false); }

    /** An HF model directory; keepHalfPrecision keeps bf16/fp16 matrices as stored (frozen; for inference). */
    public static CausalLM load(Path dir, Backend be, boolean keepHalfPrecision) {
        return HfCheckpoint.load(dir, be, keepHalfPrecision);
    }

    /** The config of a model directory or of a config.json file. */
    public static ModelConfig readConfig(Path dirOrConfigJson) { return HfCheckpoint.readConfig(dirOrConfigJson); }

    /** The config of a config.json given as a string (nameForErrors names it in messages). */
    public static ModelConfig parseConfig(String json, Path nameForErrors) {
        return Architectures.parse(ConfigJson.parse(json, nameForErrors));
    }

    /** A model of cfg with seeded random weights (HF's init rules; see RandomWeights). */
    public static CausalLM randomInit(ModelConfig cfg, Backend be, long seed) {
        return Architectures.create(cfg, new RandomWeights(be, seed));
    }

    /** As above; bf16Matrices rounds the GEMM operands and embeddings to BF16 and freezes them (inference only). */
    public static CausalLM randomInit(ModelConfig cfg, Backend be, long seed, boolean bf16Matrices) {
        return Architectures.create(cfg, new RandomWeights(be, seed, bf16Matrices));
    }

    /** Writes model as an HF directory that transformers loads (config.json + model.safetensors). */
    public static void save(CausalLM model, Path dir) { HfCheckpoint.save(model, dir); }
}
