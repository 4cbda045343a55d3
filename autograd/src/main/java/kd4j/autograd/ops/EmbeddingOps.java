/*
 * The embedding family as an autograd op: a row gather from the table; the backward scatter-adds into the
 * table's gradient (repeated ids accumulate).
 */
package kd4j.autograd.ops;

import static kd4j.autograd.ops.Ops.act;
import static kd4j.autograd.ops.Ops.scratch;

import kd4j.autograd.Tape;
import kd4j.autograd.Var;
import kd4j.tensor.Backend;
import kd4j.tensor.Tensor;

public final class EmbeddingOps {
    private EmbeddingOps() {}

    /** out[.., :] = table[ids[..], :]. ids I32 (any shape); table [V, C] F32/BF16/F16; out [ids.shape.., C]. */
    public static Var embedding(Tensor ids, Var table) {
        Backend be = table.backend();
        Tensor tt = table.data();
        Ops.require(tt.rank() == 2, "embedding", "table must be [V, C]", "table", tt);
        int cols = tt.dim(1);
        Tensor out = scratch(be, act(tt), Ops.append(ids.shape(), cols));
        Tensor out2 = out.reshape(-1, cols);
        be.embeddingForward(ids, tt, out2);
        return Tape.record("embedding", out, (dOut, grads) ->
                be.embeddingBackward(dOut.reshape(-1, cols), ids, grads.accumulate(table)), table);
    }
}
