/*
 * Packs trainable parameters into one storage for their values and one for their gradients, each parameter a
 * contiguous view at the same element offset in both (llm.c's one allocation for all parameters). Values do not
 * change; what changes is that the optimizer can update every parameter in one kernel launch (Backend.adamwSteps
 * with a table of offsets) and that AdamW lays its two moments out the same way. Offsets are multiples of 16
 * elements (64 bytes), so vector loads of every weight stay aligned.
 * Call it once, before the optimizer is built and before anything keeps a reference to a parameter's tensor.
 * The old buffers become garbage: peak memory briefly holds the parameters twice.
 */
package kd4j.autograd;

import java.util.ArrayList;
import java.util.List;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Storage;
import kd4j.tensor.Tensor;

public final class PackedParameters {
    /** Each parameter starts at a multiple of this many elements. */
    public static final int ALIGN = 16;

    private PackedParameters() {}

    /**
     * Moves the trainable F32 parameters of params (all on one backend) and their gradients into one storage each,
     * in order. Returns how many were packed (0 when fewer than two qualify, and nothing changes then).
     */
    public static int pack(List<Parameter> params) {
        List<Parameter> ps = new ArrayList<>();
        for (Parameter p : params)
            if (p.requiresGrad() && p.data().dtype() == DType.F32 && p.data().isContiguous()
                    && (ps.isEmpty() || p.backend() == ps.get(0).backend()) && !ps.contains(p))
                ps.add(p);
        if (ps.size() < 2) return 0;
        Backend be = ps.get(0).backend();
        long[] offsets = new long[ps.size()];
        long total = 0;
        for (int i = 0; i < ps.size(); i++) {
            offsets[i] = total;
            total += (ps.get(i).data().numel() + ALIGN - 1) / ALIGN * ALIGN;
        }
        Storage values = be.allocate(DType.F32, total), grads = be.allocate(DType.F32, total);
        for (int i = 0; i < ps.size(); i++) {
            Parameter p = ps.get(i);
            int[] shape = p.data().shape();
            Tensor data = new Tensor(values, DType.F32, shape, Tensor.contiguousStrides(shape), offsets[i]);
            Tensor grad = new Tensor(grads, DType.F32, shape, Tensor.contiguousStrides(shape), offsets[i]);
            be.copy(p.data(), data);
            boolean zero = p.grad() == null || p.gradIsZero();
            if (p.grad() != null) be.copy(p.grad(), grad);
            p.adoptPacked(data, grad, zero);
        }
        return ps.size();
    }

    /** Whether every tensor of ts lives in one storage (what a packed layout gives). */
    public static boolean shareStorage(List<Tensor> ts) {
        for (Tensor t : ts) if (t.storage() != ts.get(0).storage()) return false;
        return !ts.isEmpty();
    }
}
