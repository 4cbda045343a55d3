/* Elementwise ops and activations on the CPU backend vs the reference backend, over sizes that miss every
 * vector width plus one size large enough to take the parallel split. */
package kd4j.tensor.cpu;

import org.junit.jupiter.api.extension.ExtendWith;
import java.util.stream.IntStream;
import kd4j.tensor.Backend;
import kd4j.tensor.Backends;
import kd4j.tensor.Covers;
import kd4j.tensor.DType;
import kd4j.tensor.ShapeException;
import kd4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@ExtendWith(VectorWidthCondition.class)
class ElementwiseKernelsTest {
    static IntStream sizes() { return IntStream.concat(IntStream.of(Compare.SIZES), IntStream.of(70_001)); }

    @Covers({"add", "mul"})
    @ParameterizedTest(name = "n={0}") @MethodSource("sizes")
    void addAndMul_sameShape(int n) {
        Compare.Case c = new Compare.Case();
        int a = c.f(Compare.uniform(n, n, -2, 2), n), b = c.f(Compare.uniform(n + 1, n, -2, 2), n), o1 = c.zeros(n), o2 = c.zeros(n);
        c.run("add/mul", (be, t) -> { be.add(t[a], t[b], t[o1]); be.mul(t[a], t[b], t[o2]); }, 1e-6, 1e-6, o1, o2);
    }

    @Covers({"add", "mul"})
    @ParameterizedTest(name = "cols={0}") @MethodSource("sizes")
    void addAndMul_broadcastOverRows(int cols) {
        int rows = cols > 5000 ? 2 : 5;
        Compare.Case c = new Compare.Case();
        int a = c.f(Compare.uniform(cols, rows * cols, -2, 2), rows, cols), b = c.f(Compare.uniform(3, cols, -2, 2), cols);
        int o1 = c.zeros(rows, cols), o2 = c.zeros(rows, cols);
        c.run("add/mul broadcast", (be, t) -> { be.add(t[a], t[b], t[o1]); be.mul(t[a], t[b], t[o2]); }, 1e-6, 1e-6, o1, o2);
    }

    @Covers({"addScaled", "scale", "sumRowsBackward"})
    @ParameterizedTest(name = "n={0}") @MethodSource("sizes")
    void scaleAddScaledSumRows(int n) {
        Compare.Case c = new Compare.Case();
        int x = c.f(Compare.uniform(n, 3 * n, -2, 2), 3, n), acc = c.f(Compare.uniform(9, 3 * n, -1, 1), 3, n);
        int out = c.zeros(3, n), db = c.f(Compare.uniform(4, n, -1, 1), n);
        c.run("scale/addScaled/sumRowsBackward", (be, t) -> {
            be.scale(t[x], -1.5f, t[out]);
            be.addScaled(t[acc], t[x], 0.25f);
            be.sumRowsBackward(t[x], t[db]);
        }, 1e-5, 1e-5, out, acc, db);
    }

    @Covers({"geluBackward", "geluForward", "siluBackward", "siluForward", "softplusBackward", "softplusForward", "swigluBackward", "swigluForward"})
    @ParameterizedTest(name = "n={0}") @MethodSource("sizes")
    void activations_forwardAndBackward(int n) {
        Compare.Case c = new Compare.Case();
        float[] xs = Compare.uniform(n, n, -8, 8);
        if (n > 3) { xs[0] = 25f; xs[1] = -30f; xs[2] = 20.5f; }  // softplus threshold and saturation
        int x = c.f(xs, n), up = c.f(Compare.uniform(n + 7, n, -2, 2), n), d = c.f(Compare.uniform(n + 9, n, -1, 1), n);
        int silu = c.zeros(n), dSilu = c.zeros(n), gelu = c.zeros(n), dGelu = c.zeros(n), sp = c.zeros(n), dSp = c.zeros(n);
        int sw = c.zeros(n), dGate = c.zeros(n), dUp = c.zeros(n);
        c.run("activations", (be, t) -> {
            be.siluForward(t[x], t[silu]); be.siluBackward(t[d], t[x], t[dSilu]);
            be.geluForward(t[x], t[gelu]); be.geluBackward(t[d], t[x], t[dGelu]);
            be.softplusForward(t[x], t[sp]); be.softplusBackward(t[d], t[x], t[dSp]);
            be.swigluForward(t[x], t[up], t[sw]); be.swigluBackward(t[d], t[x], t[up], t[dGate], t[dUp]);
        }, 2e-6, 2e-6, silu, dSilu, gelu, dGelu, sp, dSp, sw, dGate, dUp);
    }

    /** softplus runs in two passes through its output (see ElementwiseKernels.softplusForward), so out may not alias x. */
    @Covers({"softplusForward"})
    @Test
    void softplus_refusesAnOutputThatAliasesItsInput() {
        try (Backend be = Backends.open("cpu:1")) {
            Tensor x = be.zeros(DType.F32, 4, 16), y = be.zeros(DType.F32, 4, 16);
            ShapeException e = assertThrows(ShapeException.class, () -> be.softplusForward(x, x));
            assertTrue(e.getMessage().startsWith("softplusForward: out may not alias x"), e.getMessage());
            assertThrows(ShapeException.class, () -> be.softplusForward(x, x.reshape(64).reshape(4, 16)));
            be.softplusForward(x, y);   // distinct tensors are fine
            assertEquals((float) Math.log(2), y.toFloatArray()[5], 1e-7f);
        }
    }
}
