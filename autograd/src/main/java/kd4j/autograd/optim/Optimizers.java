/*
 * State import/export helpers shared by AdamW and Sgd: named buffer copies with errors that name the missing or
 * mismatched key, and the step counter stored as an I64 [1] tensor so a checkpoint writer can treat the whole
 * state as tensors.
 */
package kd4j.autograd.optim;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import kd4j.autograd.Parameter;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;

final class Optimizers {
    private Optimizers() {}

    static Tensor stepTensor(List<Parameter> params, int step) {
        Backend be = params.isEmpty() ? new kd4j.tensor.reference.ReferenceBackend() : params.get(0).backend();
        Tensor t = be.empty(DType.I64, 1);
        be.copyIn(t, java.lang.foreign.MemorySegment.ofArray(new long[] {step}));
        return t;
    }

    static int readStep(Map<String, Tensor> state) {
        Tensor t = state.get("step");
        if (t == null) throw new IllegalArgumentException("optimizer state: missing key 'step' (keys: "
                + state.keySet().size() + ")");
        return (int) t.item(new long[t.rank()]);
    }

    static void copyInto(Map<String, Tensor> state, String key, Tensor dst) {
        Tensor src = state.get(key);
        if (src == null) throw new IllegalArgumentException("optimizer state: missing key '" + key + "'");
        if (!src.sameShape(dst))
            throw new IllegalArgumentException("optimizer state: '" + key + "' has shape "
                    + Arrays.toString(src.shape()) + ", expected " + Arrays.toString(dst.shape()));
        Tensor onDst = src.backend() == dst.backend() ? src : dst.backend().upload(src);
        dst.backend().copy(onDst, dst);
    }
}
