/*
 * Qwen2 / Qwen2.5 / Qwen3: the Llama decoder stack with Qwen's flags (q/k/v bias; q/k norm for Qwen3), so the
 * forward pass is LlamaModel's, shared rather than copied. Notable features: RMSNorm, SwiGLU, RoPE theta 1e6
 * in released checkpoints, GQA, q/k/v bias, tied embeddings in the small models.
 */
package kd4j.models.qwen2;

import kd4j.models.llama.LlamaModel;
import kd4j.models.nn.WeightSource;

public final class Qwen2Model extends LlamaModel {
    public Qwen2Model(Qwen2Config config, WeightSource src) {
        super(config, src);
    }

    @Override
    public Qwen2Config config() { return (Qwen2Config) super.config(); }
}
