/* Checks a batch of token ids (and its mask) at the model boundary, so a bad id never reaches a kernel. */
package kd4j.models;

import java.util.Arrays;
import kd4j.tensor.DType;
import kd4j.tensor.ShapeException;
import kd4j.tensor.Tensor;

public final class ModelInputs {
    private ModelInputs() {}

    /** ids I32 [B, T] with every id in [0, vocabSize); keyMask null or I32 [B, T]. */
    public static void check(Tensor ids, Tensor keyMask, int vocabSize) {
        if (ids.dtype() != DType.I32 || ids.rank() != 2)
            throw ShapeException.of("forward", "token ids must be I32 [B, T]", "ids", ids);
        if (keyMask != null && (keyMask.dtype() != DType.I32 || !keyMask.sameShape(ids)))
            throw ShapeException.of("forward", "keyMask must be I32 with the shape of ids", "ids", ids, "keyMask", keyMask);
        int[] values = ids.toIntArray();
        for (int n = 0; n < values.length; n++) {
            if (values[n] < 0 || values[n] >= vocabSize) {
                int t = ids.dim(1);
                throw new IllegalArgumentException("forward: token id " + values[n] + " at [" + n / t + ", " + n % t
                        + "] is outside the vocabulary [0, " + vocabSize + ") of ids " + Arrays.toString(ids.shape()));
            }
        }
    }
}
