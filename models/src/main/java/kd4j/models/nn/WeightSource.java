/*
 * Where a model's weights come from while its modules are built: a checkpoint (HfCheckpoint) or a seeded
 * random initialiser (Models.randomInit). Modules ask for each parameter by HF name, shape and init; the source
 * returns it and registers it, so the model's ParameterRegistry is filled in construction order by the modules
 * themselves and names cannot drift between the forward pass, the optimizer and the checkpoint files.
 */
package kd4j.models.nn;

import kd4j.autograd.Parameter;
import kd4j.autograd.ParameterRegistry;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;

public abstract class WeightSource {
    private final Backend backend;
    private final ParameterRegistry registry = new ParameterRegistry();

    protected WeightSource(Backend backend) { this.backend = backend; }

    public Backend backend() { return backend; }

    /** Every parameter handed out so far, in order. */
    public ParameterRegistry registry() { return registry; }

    /**
     * The parameter called name with the given shape. mayStayHalf marks weights only ever read by kernels that
     * widen bf16/fp16 themselves (GEMM operands, embedding tables), which an inference load may keep in half
     * precision; such a half-precision parameter is frozen (no gradient).
     */
    public final Parameter parameter(String name, Init init, Parameter.Group group, boolean mayStayHalf, int... shape) {
        Tensor t = tensor(name, init, mayStayHalf, shape);
        return registry.add(new Parameter(name, t, group, trainable(t)));
    }

    /** Whether a parameter over t takes gradients: F32/F64 ones do unless the source says otherwise. */
    protected boolean trainable(Tensor t) { return t.dtype() == DType.F32 || t.dtype() == DType.F64; }

    /** The tensor for name: shape as given, F32 unless mayStayHalf and the source keeps half precision. */
    protected abstract Tensor tensor(String name, Init init, boolean mayStayHalf, int[] shape);
}
