/*
 * SGD with momentum and decoupled weight decay (Backend.sgdStep): buf = momentum buf + g; p -= lr (buf + wd p).
 * Parameters in Group.NO_DECAY get no weight decay. Momentum buffers are allocated once.
 */
package kd4j.autograd.optim;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import kd4j.autograd.Parameter;
import kd4j.tensor.Tensor;

public final class Sgd {
    private final List<Parameter> params;
    private final Tensor[] buffers;
    private double lr;
    private final double momentum, weightDecay;
    private int step;

    public Sgd(List<Parameter> params, double lr, double momentum, double weightDecay) {
        if (!(lr >= 0 && momentum >= 0 && weightDecay >= 0))
            throw new IllegalArgumentException("Sgd: need lr, momentum, weightDecay >= 0; got lr=" + lr
                    + " momentum=" + momentum + " weightDecay=" + weightDecay);
        this.params = new ArrayList<>(params);
        this.lr = lr;
        this.momentum = momentum;
        this.weightDecay = weightDecay;
        buffers = new Tensor[this.params.size()];
        for (int i = 0; i < buffers.length; i++) {
            Tensor data = this.params.get(i).data();
            buffers[i] = data.backend().zeros(AdamW.momentType(data), data.shape());
        }
    }

    public double lr() { return lr; }

    public void setLr(double lr) { this.lr = lr; }

    public int stepCount() { return step; }

    /** One update of every trainable parameter that has a gradient. */
    public void step() {
        step++;
        for (int i = 0; i < buffers.length; i++) {
            Parameter p = params.get(i);
            if (!p.requiresGrad() || p.grad() == null) continue;
            double wd = p.group() == Parameter.Group.NO_DECAY ? 0.0 : weightDecay;
            p.backend().sgdStep(p.data(), p.grad(), buffers[i], (float) lr, (float) momentum, (float) wd);
        }
    }

    /** "NAME.momentum_buffer" per parameter and "step" (I64 [1]); the live buffers. */
    public Map<String, Tensor> state() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (int i = 0; i < buffers.length; i++) out.put(params.get(i).name() + ".momentum_buffer", buffers[i]);
        out.put("step", Optimizers.stepTensor(params, step));
        return out;
    }

    public void load(Map<String, Tensor> state) {
        for (int i = 0; i < buffers.length; i++)
            Optimizers.copyInto(state, params.get(i).name() + ".momentum_buffer", buffers[i]);
        step = Optimizers.readStep(state);
    }
}
