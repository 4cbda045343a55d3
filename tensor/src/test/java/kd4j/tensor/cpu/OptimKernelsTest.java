/* AdamW and SGD steps vs the reference backend over several steps. */
package kd4j.tensor.cpu;

import org.junit.jupiter.api.extension.ExtendWith;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import kd4j.tensor.Covers;

@ExtendWith(VectorWidthCondition.class)
class OptimKernelsTest {
    static IntStream sizes() { return IntStream.concat(IntStream.of(Compare.SIZES), IntStream.of(70_001)); }

    @Covers({"adamwStep", "sgdStep"})
    @ParameterizedTest(name = "n={0}") @MethodSource("sizes")
    void adamwAndSgd_threeSteps(int n) {
        Compare.Case c = new Compare.Case();
        int p = c.f(Compare.uniform(n, n, -1, 1), n), g = c.f(Compare.uniform(n + 1, n, -1, 1), n), m = c.zeros(n), v = c.zeros(n);
        int p2 = c.f(Compare.uniform(n + 2, n, -1, 1), n), buf = c.zeros(n);
        c.run("adamw/sgd", (be, t) -> {
            for (int step = 1; step <= 3; step++) {
                be.adamwStep(t[p], t[g], t[m], t[v], 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, step);
                be.sgdStep(t[p2], t[g], t[buf], 0.1f, 0.9f, 0.01f);
            }
        }, 1e-6, 1e-5, p, m, v, p2, buf);
    }
}
