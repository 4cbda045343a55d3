/*
 * A causal language model of any family: token ids in, next-token logits out. Training, scoring, distillation
 * and generation are written against this interface only, so a student or teacher of any family plugs in.
 */
package kd4j.models;

import java.util.function.UnaryOperator;
import kd4j.autograd.ParameterRegistry;
import kd4j.autograd.Var;
import kd4j.autograd.ops.ShapeOps;
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

    /**
     * The forward pass stopped at the lm_head's input: hidden [B*T, C] and the head mapping any rows of it to
     * logits [N, V]. Callers that only reduce the logits (scoring, top-p-k caching) run the head one chunk of
     * positions at a time (ChunkedLogits) and never hold [B, T, V] in fp32. The default, for a model without a
     * separate head, computes the logits whole and hands them out with an identity head.
     */
    default HeadInput forwardToHead(Tensor ids, Tensor keyMask) {
        Var logits = forward(ids, keyMask);
        return new HeadInput(ShapeOps.reshape(logits, ids.dim(0) * ids.dim(1), logits.dim(2)), UnaryOperator.identity());
    }

    /** Final hidden states [N, C] and the head: rows [n, C] → logits [n, V] F32. */
    record HeadInput(Var hidden, UnaryOperator<Var> head) {}

    /** A fresh decoding state (KV cache, or conv/SSM state for Mamba) for batch size b and up to maxLen tokens. */
    DecodeState newDecodeState(int batch, int maxLength);

    /**
     * Feeds ids I32 [B, T] after the tokens already in state, updates state, and returns logits [B, T, V] F32
     * (no tape). Costs O(T) per call for every family (KV cache / recurrent state).
     */
    Tensor decode(Tensor ids, DecodeState state);

    /**
     * As decode, but returns the logits of the last fed position only, [B, V] F32: what generation samples from,
     * without a [B, T, V] block for a long prompt. The default narrows decode's result.
     */
    default Tensor decodeLast(Tensor ids, DecodeState state) {
        Tensor all = decode(ids, state);
        return all.narrow(1, all.dim(1) - 1, 1).contiguous().reshape(all.dim(0), all.dim(2));
    }

    /** Decoding state: opaque to callers except for how many tokens it holds. */
    interface DecodeState {
        int length();
    }
}
