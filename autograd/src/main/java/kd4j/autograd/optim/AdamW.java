/*
 * AdamW with decoupled weight decay (Loshchilov & Hutter; PyTorch's torch.optim.AdamW): one Backend.adamwSteps
 * call per step for all parameters, which the OpenCL backend runs as one launch when the parameters are packed
 * (PackedParameters) and as one Backend.adamwStep per parameter otherwise, with the same arithmetic. Parameters in
 * Group.NO_DECAY (norms, biases, embeddings by convention) get no weight decay. Moment buffers are allocated once,
 * at construction (in one storage each, at the parameters' offsets, when the parameters are packed), and are
 * exported/imported by name for checkpoints.
 */
package kd4j.autograd.optim;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import kd4j.autograd.PackedParameters;
import kd4j.autograd.Parameter;
import kd4j.tensor.DType;
import kd4j.tensor.Storage;
import kd4j.tensor.Tensor;

public final class AdamW {
    private final List<Parameter> params;
    private final Tensor[] m, v;
    private double lr;
    private final double beta1, beta2, eps, weightDecay;
    private int step;

    /** PyTorch defaults: betas (0.9, 0.999), eps 1e-8. */
    public AdamW(List<Parameter> params, double lr, double weightDecay) {
        this(params, lr, 0.9, 0.999, 1e-8, weightDecay);
    }

    public AdamW(List<Parameter> params, double lr, double beta1, double beta2, double eps, double weightDecay) {
        if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps > 0 && lr >= 0 && weightDecay >= 0))
            throw new IllegalArgumentException("AdamW: need 0 <= beta1, beta2 < 1, eps > 0, lr >= 0, weightDecay >= 0;"
                    + " got beta1=" + beta1 + " beta2=" + beta2 + " eps=" + eps + " lr=" + lr
                    + " weightDecay=" + weightDecay);
        this.params = new ArrayList<>(params);
        this.lr = lr;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        m = new Tensor[this.params.size()];
        v = new Tensor[this.params.size()];
        if (packed(this.params)) {
            // one storage per moment, each moment at its parameter's offset: the packed layout's offset table
            Tensor first = this.params.get(0).data();
            long size = first.storage().byteSize() / DType.F32.byteSize();
            Storage ms = first.backend().allocate(DType.F32, size), vs = first.backend().allocate(DType.F32, size);
            for (int i = 0; i < m.length; i++) {
                Tensor d = this.params.get(i).data();
                m[i] = new Tensor(ms, DType.F32, d.shape(), Tensor.contiguousStrides(d.shape()), d.offset());
                v[i] = new Tensor(vs, DType.F32, d.shape(), Tensor.contiguousStrides(d.shape()), d.offset());
            }
            return;
        }
        for (int i = 0; i < m.length; i++) {
            Tensor data = this.params.get(i).data();
            DType t = momentType(data);
            m[i] = data.backend().zeros(t, data.shape());
            v[i] = data.backend().zeros(t, data.shape());
        }
    }

    static DType momentType(Tensor data) { return data.dtype() == DType.F64 ? DType.F64 : DType.F32; }

    /** Every parameter trainable, F32 and in one values storage (PackedParameters.pack). */
    private static boolean packed(List<Parameter> params) {
        List<Tensor> data = new ArrayList<>();
        for (Parameter p : params) {
            if (!p.requiresGrad() || p.data().dtype() != DType.F32) return false;
            data.add(p.data());
        }
        return params.size() > 1 && PackedParameters.shareStorage(data);
    }

    public double lr() { return lr; }

    /** Sets the learning rate for the next steps (an LrSchedule drives this). */
    public void setLr(double lr) { this.lr = lr; }

    /** Number of steps taken (the bias correction uses step + 1 on the next step). */
    public int stepCount() { return step; }

    /** One update of every trainable parameter that has a gradient. */
    public void step() {
        step++;
        List<Tensor> ps = new ArrayList<>(), gs = new ArrayList<>(), ms = new ArrayList<>(), vs = new ArrayList<>();
        float[] decay = new float[m.length];
        for (int i = 0; i < m.length; i++) {
            Parameter p = params.get(i);
            if (!p.requiresGrad() || p.grad() == null) continue;
            decay[ps.size()] = (float) (p.group() == Parameter.Group.NO_DECAY ? 0.0 : weightDecay);
            ps.add(p.data());
            gs.add(p.grad());
            ms.add(m[i]);
            vs.add(v[i]);
        }
        if (ps.isEmpty()) return;
        ps.get(0).backend().adamwSteps(ps, gs, ms, vs, (float) lr, (float) beta1, (float) beta2, (float) eps,
                java.util.Arrays.copyOf(decay, ps.size()), step);
    }

    /**
     * The optimizer state by name: "NAME.exp_avg", "NAME.exp_avg_sq" per parameter (PyTorch's names) and "step"
     * (I64 [1]). The tensors are the live buffers: copy them before the next step if needed.
     */
    public Map<String, Tensor> state() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (int i = 0; i < m.length; i++) {
            out.put(params.get(i).name() + ".exp_avg", m[i]);
            out.put(params.get(i).name() + ".exp_avg_sq", v[i]);
        }
        out.put("step", Optimizers.stepTensor(params, step));
        return out;
    }

    /** Restores state() output (copied into the existing buffers); every key must be present. */
    public void load(Map<String, Tensor> state) {
        for (int i = 0; i < m.length; i++) {
            Optimizers.copyInto(state, params.get(i).name() + ".exp_avg", m[i]);
            Optimizers.copyInto(state, params.get(i).name() + ".exp_avg_sq", v[i]);
        }
        step = Optimizers.readStep(state);
    }
}
