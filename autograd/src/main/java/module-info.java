/* The autograd tape, its ops (forward and backward side by side) and the optimizers. */
module kd4j.autograd {
    requires transitive kd4j.tensor;

    exports kd4j.autograd;
    exports kd4j.autograd.ops;
    exports kd4j.autograd.optim;
}
