/* Whole-tensor reductions and row softmax / log-softmax vs the reference backend. */
package kd4j.tensor.cpu;

import org.junit.jupiter.api.extension.ExtendWith;
import static kd4j.tensor.cpu.Compare.CPU;
import static kd4j.tensor.cpu.Compare.REF;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.IntStream;
import kd4j.tensor.Covers;
import kd4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

@ExtendWith(VectorWidthCondition.class)
class ReduceKernelsTest {
    static IntStream sizes() { return IntStream.concat(IntStream.of(Compare.SIZES), IntStream.of(100_003)); }

    @Covers({"allFinite", "sum", "sumOfSquares"})
    @ParameterizedTest(name = "n={0}") @MethodSource("sizes")
    void sums_matchReference(int n) {
        float[] v = Compare.uniform(n, n, -1, 1);
        Tensor c = CPU.fromFloats(v, n), r = REF.fromFloats(v, n);
        // fp32 partials over 4096-element chunks: error grows like sqrt(n) ulps, bounded here by 1e-6 * n.
        assertEquals(REF.sum(r), CPU.sum(c), 1e-6 * n + 1e-6, "sum n=" + n);
        assertEquals(REF.sumOfSquares(r), CPU.sumOfSquares(c), 1e-6 * n + 1e-6, "sumOfSquares n=" + n);
        assertTrue(CPU.allFinite(c));
    }

    @Covers({"allFinite"})
    @Test
    void allFinite_findsNaNAndInfinityAnywhere() {
        for (int n : new int[] {1, 7, 8, 4099, 10_000})
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                float[] v = Compare.uniform(n, n, -1, 1);
                v[n - 1] = bad;
                assertFalse(CPU.allFinite(CPU.fromFloats(v, n)), "n=" + n + " bad=" + bad);
            }
    }

    @Covers({"logSoftmaxBackward", "logSoftmaxForward", "softmaxBackward", "softmaxForward"})
    @ParameterizedTest(name = "cols={0}") @MethodSource("sizes")
    void softmaxAndLogSoftmax_forwardAndBackward(int cols) {
        int rows = cols > 5000 ? 2 : 6;
        Compare.Case c = new Compare.Case();
        int x = c.f(Compare.uniform(cols, rows * cols, -10, 10), rows, cols), d = c.f(Compare.uniform(1, rows * cols, -1, 1), rows, cols);
        int sm = c.zeros(rows, cols), dsm = c.zeros(rows, cols), lsm = c.zeros(rows, cols), dlsm = c.zeros(rows, cols);
        c.run("softmax/logSoftmax", (be, t) -> {
            be.softmaxForward(t[x], t[sm]); be.softmaxBackward(t[d], t[sm], t[dsm]);
            be.logSoftmaxForward(t[x], t[lsm]); be.logSoftmaxBackward(t[d], t[lsm], t[dlsm]);
        }, 1e-6 * Math.sqrt(cols) + 1e-6, 1e-5, sm, dsm, lsm, dlsm);
    }
}
