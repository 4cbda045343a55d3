/* A token embedding table [V, C] (HF `embed_tokens` / `embeddings`): ids I32 [B, T] → rows [B*T, C]. */
package kd4j.models.nn;

import kd4j.autograd.Parameter;
import kd4j.autograd.Var;
import kd4j.autograd.ops.EmbeddingOps;
import kd4j.autograd.ops.ShapeOps;
import kd4j.tensor.Tensor;

public final class Embedding {
    private final Parameter table;

    public Embedding(WeightSource src, String name, int vocabSize, int dim, double std) {
        this.table = src.parameter(name, Init.normal(std), Parameter.Group.NO_DECAY, true, vocabSize, dim);
    }

    /** ids I32 of any shape with N elements → [N, C]. */
    public Var forward(Tensor ids) {
        Var rows = EmbeddingOps.embedding(ids, table);
        return ShapeOps.reshape(rows, (int) ids.numel(), table.dim(1));
    }

    public Parameter table() { return table; }
}
