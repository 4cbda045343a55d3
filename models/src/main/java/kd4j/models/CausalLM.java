/*
 * A causal language model of any family: token ids in, next-token logits out. Training, scoring, distillation
 * and generation are written against this interface only, so a student or teacher of any family plugs in.
 */
package kd4j.models;

import kd4j.autograd.ParameterRegistry;
import kd4j.autograd.Var;
import kd4j.tensor.Backend;
import kd4j.tensor.Tensor;

public interface CausalLM {
    /** The family's config as parsed from config.json (vocabSize, hidden size, ...). */
    ModelConfig config();

    /** Every weight, in HF name order; the one source for optimizer, checkpoints and HF export. */
    ParameterRegistry parameters();

    /** The backend the weights live on. */
    Backend backend();

    /**
     * Logits [B, T, V] F32 for ids I32 [B, T]. keyMask I32 [B, T] (1 = real token, 0 = padding) or null.
     * Records onto the tape when grad mode is on.
     */
    Var forward(Tensor ids, Tensor keyMask);

    /** A fresh decoding state (KV cache, or conv/SSM state for Mamba) for batch size b and up to maxLen tokens. */
    DecodeState newDecodeState(int batch, int maxLength);

    /**
     * Feeds ids I32 [B, T] after the tokens already in state, updates state, and returns logits [B, T, V] F32
     * (no tape). Costs O(T) per call for every family (KV cache / recurrent state).
     */
    Tensor decode(Tensor ids, DecodeState state);

    /** Decoding state: opaque to callers except for how many tokens it holds. */
    interface DecodeState {
        int length();
    }
}
