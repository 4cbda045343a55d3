/* RMSNorm and LayerNorm forward/backward vs the reference backend, fp32 and bf16 weights, odd widths. */
package kd4j.tensor.cpu;

import org.junit.jupiter.api.extension.ExtendWith;
import java.util.stream.IntStream;
import kd4j.tensor.Covers;
import kd4j.tensor.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

@ExtendWith(VectorWidthCondition.class)
class NormKernelsTest {
    static IntStream sizes() { return IntStream.of(Compare.SIZES); }

    @Covers({"rmsNormBackward", "rmsNormForward"})
    @ParameterizedTest(name = "cols={0}") @MethodSource("sizes")
    void rmsNorm_forwardAndBackward_f32AndBf16Weights(int cols) {
        for (DType wt : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            int rows = 9;
            Compare.Case c = new Compare.Case();
            int x = c.f(Compare.uniform(cols, rows * cols, -3, 3), rows, cols), w = c.typed(Compare.uniform(2, cols, 0.5f, 1.5f), wt, cols);
            int d = c.f(Compare.uniform(3, rows * cols, -1, 1), rows, cols), out = c.zeros(rows, cols), inv = c.zeros(rows);
            int dx = c.zeros(rows, cols), dw = c.f(Compare.uniform(4, cols, -1, 1), cols);
            c.run("rmsNorm " + wt, (be, t) -> {
                be.rmsNormForward(t[x], t[w], 1e-5f, t[out], t[inv]);
                be.rmsNormBackward(t[d], t[x], t[w], t[inv], t[dx], t[dw]);
            }, 1e-5 + 1e-6 * cols, 1e-5, out, inv, dx, dw);
        }
    }

    @Covers({"layerNormBackward", "layerNormForward"})
    @ParameterizedTest(name = "cols={0}") @MethodSource("sizes")
    void layerNorm_forwardAndBackward_withAndWithoutBias(int cols) {
        for (boolean bias : new boolean[] {true, false}) {
            int rows = 7;
            Compare.Case c = new Compare.Case();
            int x = c.f(Compare.uniform(cols, rows * cols, 1, 5), rows, cols), w = c.f(Compare.uniform(2, cols, 0.5f, 1.5f), cols);
            int b = c.f(Compare.uniform(5, cols, -1, 1), cols), d = c.f(Compare.uniform(3, rows * cols, -1, 1), rows, cols);
            int out = c.zeros(rows, cols), mean = c.zeros(rows), inv = c.zeros(rows), dx = c.zeros(rows, cols);
            int dw = c.f(Compare.uniform(4, cols, -1, 1), cols), db = c.f(Compare.uniform(6, cols, -1, 1), cols);
            c.run("layerNorm bias=" + bias, (be, t) -> {
                be.layerNormForward(t[x], t[w], bias ? t[b] : null, 1e-5f, t[out], t[mean], t[inv]);
                be.layerNormBackward(t[d], t[x], t[w], t[mean], t[inv], t[dx], t[dw], bias ? t[db] : null);
            }, 2e-5 + 2e-6 * cols, 1e-4, out, mean, inv, dx, dw, db);
        }
    }
}
