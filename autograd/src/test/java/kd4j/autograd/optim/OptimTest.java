/*
 * Optimizers, schedules and clipping: exact hand-computed AdamW and SGD steps, weight-decay groups, state
 * export/import, schedule values at known steps, global-norm clipping, and a tiny MLP whose loss must fall.
 */
package kd4j.autograd.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Random;
import kd4j.autograd.Parameter;
import kd4j.autograd.ParameterRegistry;
import kd4j.autograd.StepArena;
import kd4j.autograd.Tape;
import kd4j.autograd.Var;
import kd4j.autograd.ops.ElementwiseOps;
import kd4j.autograd.ops.LinearOps;
import kd4j.autograd.ops.LossOps;
import kd4j.tensor.Backend;
import kd4j.tensor.Tensor;
import kd4j.tensor.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

class OptimTest {
    private static final Backend BE = new ReferenceBackend();

    private static Parameter param(String name, Parameter.Group group, double... values) {
        return new Parameter(name, BE.fromDoubles(values, values.length), group);
    }

    private static void setGrad(Parameter p, double... g) {
        p.zeroGrad();
        BE.copyIn(p.gradOrZeros(), java.lang.foreign.MemorySegment.ofArray(g));
    }

    @Test
    void adamw_twoSteps_matchHandComputedValues() {
        // step 1: m = 0.1 g, v = 0.001 g^2, bias-corrected m/sqrt(v) = g/|g| = 1:
        //   p = 1 - 0.1 (0.5 / (0.5 + 1e-8) + 0.01 * 1) = 0.899000002
        // step 2 (g = 0.2): m = 0.065, v = 0.00028975; mhat = 0.065/0.19, vhat = 0.00028975/0.001999:
        //   p = 0.899000002 - 0.1 (0.342105/0.380720 + 0.01 * 0.899000002) = 0.808243484
        Parameter decayed = param("w", Parameter.Group.DECAY, 1.0);
        Parameter plain = param("b", Parameter.Group.NO_DECAY, 1.0);
        AdamW opt = new AdamW(List.of(decayed, plain), 0.1, 0.9, 0.999, 1e-8, 0.01);
        setGrad(decayed, 0.5);
        setGrad(plain, 0.5);
        opt.step();
        assertEquals(0.899000002, decayed.data().item(0), 1e-7);
        assertEquals(1 - 0.1 * (0.5 / (0.5 + 1e-8)), plain.data().item(0), 1e-7);   // NO_DECAY: no decay term
        setGrad(decayed, 0.2);
        opt.step();
        assertEquals(0.8082434839, decayed.data().item(0), 1e-6);
        assertEquals(2, opt.stepCount());
    }

    @Test
    void sgd_twoSteps_matchHandComputedValues() {
        // buf = 0.5; p = 1 - 0.1 (0.5 + 0.01 * 1) = 0.949
        // buf = 0.9 * 0.5 + 0.5 = 0.95; p = 0.949 - 0.1 (0.95 + 0.01 * 0.949) = 0.853051
        Parameter p = param("w", Parameter.Group.DECAY, 1.0);
        Sgd opt = new Sgd(List.of(p), 0.1, 0.9, 0.01);
        setGrad(p, 0.5);
        opt.step();
        assertEquals(0.949, p.data().item(0), 1e-7);
        opt.step();
        assertEquals(0.853051, p.data().item(0), 1e-7);
    }

    @Test
    void adamw_stateRoundTrip_continuesIdentically() {
        Parameter a = param("a", Parameter.Group.DECAY, 0.3, -0.7), b = param("a", Parameter.Group.DECAY, 0.3, -0.7);
        AdamW first = new AdamW(List.of(a), 0.05, 0.1);
        for (int i = 0; i < 3; i++) { setGrad(a, 0.2 * i - 0.1, 0.4); first.step(); }
        Map<String, Tensor> state = first.state();
        assertTrue(state.containsKey("a.exp_avg") && state.containsKey("a.exp_avg_sq") && state.containsKey("step"));
        BE.copy(a.data(), b.data());
        AdamW second = new AdamW(List.of(b), 0.05, 0.1);
        second.load(state);
        assertEquals(3, second.stepCount());
        setGrad(a, -0.3, 0.9);
        setGrad(b, -0.3, 0.9);
        first.step();
        second.step();
        assertArrayEquals(a.data().toDoubleArray(), b.data().toDoubleArray(), 0.0);
        state.remove("a.exp_avg");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> second.load(state));
        assertTrue(e.getMessage().contains("'a.exp_avg'"), e.getMessage());
    }

    @Test
    void schedules_giveKnownValues() {
        assertEquals(3e-4, new LrSchedule.Constant(3e-4).lr(12345), 0);
        var cosine = new LrSchedule.WarmupCosine(1.0, 10, 110, 0.1);
        assertEquals(0.1, cosine.lr(0), 1e-12);            // (0 + 1) / 10
        assertEquals(1.0, cosine.lr(9), 1e-12);
        assertEquals(1.0, cosine.lr(10), 1e-12);           // cosine starts at the peak
        assertEquals(0.55, cosine.lr(60), 1e-12);          // halfway: min + (1 - min) / 2
        assertEquals(0.1, cosine.lr(110), 1e-12);
        assertEquals(0.1, cosine.lr(500), 1e-12);
        var wsd = new LrSchedule.Wsd(2.0, 4, 10, 8, 0.0);
        assertEquals(0.5, wsd.lr(0), 1e-12);
        assertEquals(2.0, wsd.lr(13), 1e-12);              // last stable step
        assertEquals(1.0, wsd.lr(18), 1e-12);              // halfway through the decay
        assertEquals(0.0, wsd.lr(22), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule.WarmupCosine(1, 10, 5, 0));
    }

    @Test
    void clipGlobalNorm_scalesToMaxNormAndReturnsPreClipNorm() {
        Parameter a = param("a", Parameter.Group.DECAY, 0, 0), b = param("b", Parameter.Group.DECAY, 0);
        setGrad(a, 3, 0);
        setGrad(b, 4);
        assertEquals(5.0, GradClip.clipGlobalNorm(List.of(a, b), 1.0), 1e-12);
        assertEquals(3 / (5 + 1e-6), a.grad().item(0), 1e-7);
        assertEquals(4 / (5 + 1e-6), b.grad().item(0), 1e-7);
        setGrad(a, 0.3, 0);
        setGrad(b, 0.4);
        assertEquals(0.5, GradClip.clipGlobalNorm(List.of(a, b), 1.0), 1e-12);
        assertEquals(0.3, a.grad().item(0), 1e-12);        // under the limit: untouched
    }

    @Test
    void tinyMlp_lossFallsUnderAdamW() {
        // y = sin(x0) + 0.5 x1^2 on 32 fixed points; 2 -> 16 -> 1 MLP with SiLU, F32 on the reference backend
        Random random = new Random(7);
        int n = 32, hidden = 16;
        float[] xs = new float[n * 2], ys = new float[n];
        for (int i = 0; i < n; i++) {
            xs[2 * i] = (float) (random.nextDouble() * 4 - 2);
            xs[2 * i + 1] = (float) (random.nextDouble() * 2 - 1);
            ys[i] = (float) (Math.sin(xs[2 * i]) + 0.5 * xs[2 * i + 1] * xs[2 * i + 1]);
        }
        ParameterRegistry reg = new ParameterRegistry();
        Parameter w1 = reg.add(new Parameter("w1", BE.fromFloats(randn(random, hidden * 2, 0.7), hidden, 2),
                Parameter.Group.DECAY));
        Parameter b1 = reg.add(new Parameter("b1", BE.zeros(kd4j.tensor.DType.F32, hidden), Parameter.Group.NO_DECAY));
        Parameter w2 = reg.add(new Parameter("w2", BE.fromFloats(randn(random, hidden, 0.25), 1, hidden),
                Parameter.Group.DECAY));
        Parameter b2 = reg.add(new Parameter("b2", BE.zeros(kd4j.tensor.DType.F32, 1), Parameter.Group.NO_DECAY));
        Var x = Var.constant(BE.fromFloats(xs, n, 2));
        Var negTarget = Var.constant(BE.fromFloats(negate(ys), n, 1));
        AdamW opt = new AdamW(reg.all(), 0.02, 0.0);
        LrSchedule schedule = new LrSchedule.WarmupCosine(0.02, 10, 300, 0.1);
        StepArena arena = new StepArena();
        double first = 0, last = 0;
        long bytesAfterFirstStep = 0;
        for (int step = 0; step < 300; step++) {
            reg.zeroGrad();
            try (var scope = arena.activate()) {
                Var h = ElementwiseOps.silu(LinearOps.linear(x, w1, b1));
                Var diff = ElementwiseOps.add(LinearOps.linear(h, w2, b2), negTarget);
                Var loss = LossOps.mean(ElementwiseOps.mul(diff, diff));
                Tape.backward(loss);
                last = loss.data().item();
            }
            if (step == 0) first = last;
            opt.setLr(schedule.lr(step));
            opt.step();
            arena.reset();
            if (step == 0) bytesAfterFirstStep = arena.bytesAllocated();
        }
        assertTrue(first > 0.3, "initial loss " + first);
        assertTrue(last < 0.02, "loss after 300 steps " + last + " (initial " + first + ")");
        assertEquals(bytesAfterFirstStep, arena.bytesAllocated(), "steady-state steps allocate no new scratch");
    }

    private static float[] randn(Random random, int count, double std) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) v[i] = (float) (random.nextGaussian() * std);
        return v;
    }

    private static float[] negate(float[] v) {
        float[] r = new float[v.length];
        for (int i = 0; i < v.length; i++) r[i] = -v[i];
        return r;
    }
}
