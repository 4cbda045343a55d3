/*
 * What every family's config shares. Each family has its own record implementing this (Qwen2Config, LlamaConfig,
 * MambaConfig), parsed from HF config.json by Architectures, the one switch from architecture name to family.
 */
package kd4j.models;

public interface ModelConfig {
    /** HF architecture name, e.g. "Qwen2ForCausalLM". */
    String architecture();

    int vocabSize();

    int hiddenSize();

    int numHiddenLayers();

    boolean tieWordEmbeddings();

    /** -1 when the config names none. */
    int bosTokenId();

    /** -1 when the config names none. */
    int eosTokenId();
}
