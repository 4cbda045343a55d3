/*
 * A trainable (or frozen) weight with its HF checkpoint name and optimizer group. The name is what maps the
 * weight to `model.layers.3.self_attn.q_proj.weight` in safetensors files, both ways.
 */
package kd4j.autograd;

import kd4j.tensor.Tensor;

public final class Parameter extends Var {
    /** Weight-decay group: norms, biases and embeddings usually take none. */
    public enum Group { DECAY, NO_DECAY }

    private final String name;
    private final Group group;

    public Parameter(String name, Tensor data, Group group) {
        this(name, data, group, true);
    }

    public Parameter(String name, Tensor data, Group group, boolean trainable) {
        super(data, trainable);
        this.name = name;
        this.group = group;
    }

    public String name() { return name; }
    public Group group() { return group; }

    @Override
    public String toString() { return "Parameter(" + name + ", " + data() + ")"; }
}
