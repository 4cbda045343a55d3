/* The gated MLP of Llama and Qwen: down(silu(gate(x)) * up(x)). x [N, C] → [N, C]; hidden width I. */
package kd4j.models.nn;

import kd4j.autograd.Var;
import kd4j.autograd.ops.ElementwiseOps;

public final class SwiGluMlp {
    private final Linear gate, up, down;

    public SwiGluMlp(WeightSource src, String prefix, int hidden, int intermediate, boolean bias, double std) {
        gate = new Linear(src, prefix + ".gate_proj", hidden, intermediate, bias, std);
        up = new Linear(src, prefix + ".up_proj", hidden, intermediate, bias, std);
        down = new Linear(src, prefix + ".down_proj", intermediate, hidden, bias, std);
    }

    public Var forward(Var x) {
        Var h = ElementwiseOps.swiglu(gate.forward(x), up.forward(x));   // [N, I]
        return down.forward(h);                                           // [N, C]
    }
}
