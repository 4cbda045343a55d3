/* Dense (forward/reverse KL, soft CE, MSE) and sparse top-k distillation losses vs the reference backend. */
package kd4j.tensor.cpu;

import org.junit.jupiter.api.extension.ExtendWith;
import kd4j.tensor.Backend.Divergence;
import kd4j.tensor.Covers;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@ExtendWith(VectorWidthCondition.class)
class DistillKernelsTest {
    @Covers({"distillBackward", "distillForward"})
    @ParameterizedTest(name = "V={0}") @ValueSource(ints = {1, 3, 8, 13, 100, 257, 4099})
    void dense_allDivergences_twoTemperatures(int vocab) {
        for (Divergence div : Divergence.values())
            for (float tau : new float[] {1f, 2.5f}) {
                int n = 5;
                Compare.Case c = new Compare.Case();
                int s = c.f(Compare.uniform(vocab, n * vocab, -6, 6), n, vocab), t = c.f(Compare.uniform(vocab + 1, n * vocab, -6, 6), n, vocab);
                int per = c.zeros(n), dp = c.f(Compare.uniform(3, n, 0.5f, 1.5f), n), ds = c.zeros(n, vocab);
                c.run("distill " + div + " tau=" + tau, (be, x) -> {
                    be.distillForward(div, tau, x[s], x[t], x[per]);
                    be.distillBackward(div, tau, x[dp], x[s], x[t], x[ds]);
                }, 1e-5 + 1e-8 * vocab, 1e-4, per, ds);
            }
    }

    @Covers({"sparseDistillBackward", "sparseDistillForward"})
    @ParameterizedTest(name = "V={0}") @ValueSource(ints = {5, 13, 100, 4099})
    void sparse_topK_withSkippedAndRepeatedIds(int vocab) {
        int n = 4, topK = 5;
        int[] ids = Compare.ints(vocab, n * topK, vocab);
        ids[3] = -1;
        ids[7] = ids[6];   // a repeated id accumulates both probabilities
        Compare.Case c = new Compare.Case();
        int s = c.f(Compare.uniform(vocab, n * vocab, -6, 6), n, vocab), id = c.i(ids, n, topK);
        int pr = c.f(Compare.uniform(2, n * topK, 0f, 0.2f), n, topK), per = c.zeros(n), lse = c.zeros(n);
        int dp = c.f(Compare.uniform(3, n, 0.5f, 1.5f), n), ds = c.zeros(n, vocab);
        c.run("sparseDistill", (be, x) -> {
            be.sparseDistillForward(2f, x[s], x[id], x[pr], x[per], x[lse]);
            be.sparseDistillBackward(2f, x[dp], x[s], x[id], x[pr], x[lse], x[ds]);
        }, 1e-5, 1e-4, per, lse, ds);
    }
}
