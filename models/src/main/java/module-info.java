/*
 * The model families (Qwen2/Qwen3, Llama, Mamba) behind CausalLM, HF config.json and safetensors I/O. The
 * per-family Qwen2 and Llama packages stay inside (Architectures picks them); kd4j.models.nn is exported for the
 * layer specs configs expose (Rope, Attention.Spec), kd4j.models.mamba for MambaConfig.
 */
module kd4j.models {
    requires transitive kd4j.autograd;
    requires com.fasterxml.jackson.databind;

    exports kd4j.models;
    exports kd4j.models.io;
    exports kd4j.models.mamba;
    exports kd4j.models.nn;
    opens kd4j.models to com.fasterxml.jackson.databind;
}
