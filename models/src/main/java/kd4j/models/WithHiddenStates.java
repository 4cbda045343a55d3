/* A model whose forward pass can also hand out its intermediate activations (for conformance checks). */
package kd4j.models;

import java.util.List;
import kd4j.autograd.Var;
import kd4j.tensor.Tensor;

public interface WithHiddenStates extends CausalLM {
    /**
     * As forward(ids, keyMask); hidden (when not null) receives the embeddings, each layer's output (residual
     * included) and the final-norm output, each [B*T, C], the tensors HF's hidden-state hooks record.
     */
    Var forward(Tensor ids, Tensor keyMask, List<Var> hidden);
}
