/* Fused cross-entropy forward/backward vs the reference backend, odd vocabularies and ignored targets. */
package kd4j.tensor.cpu;

import org.junit.jupiter.api.extension.ExtendWith;
import static kd4j.tensor.cpu.Compare.CPU;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import kd4j.tensor.Covers;
import kd4j.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@ExtendWith(VectorWidthCondition.class)
class CrossEntropyKernelsTest {
    @Covers({"crossEntropyBackward", "crossEntropyForward"})
    @ParameterizedTest(name = "V={0}") @ValueSource(ints = {1, 3, 7, 8, 13, 31, 100, 257, 1000, 4099, 50_257})
    void crossEntropy_forwardAndBackward(int vocab) {
        int n = vocab > 5000 ? 3 : 10;
        int[] targets = Compare.ints(vocab, n, vocab);
        targets[n - 1] = -100;
        Compare.Case c = new Compare.Case();
        int x = c.f(Compare.uniform(vocab, n * vocab, -15, 15), n, vocab), tg = c.i(targets, n);
        int loss = c.zeros(n), lse = c.zeros(n), dl = c.f(Compare.uniform(2, n, 0.5f, 1.5f), n), dx = c.zeros(n, vocab);
        c.run("crossEntropy", (be, t) -> {
            be.crossEntropyForward(t[x], t[tg], -100, t[loss], t[lse]);
            be.crossEntropyBackward(t[dl], t[x], t[tg], t[lse], -100, t[dx]);
        }, 1e-5, 1e-5, loss, lse, dx);
    }

    @Covers({"crossEntropyForward"})
    @Test
    void crossEntropy_rejectsTargetOutsideVocabulary() {
        var e = assertThrows(IllegalArgumentException.class, () -> CPU.crossEntropyForward(CPU.empty(DType.F32, 2, 5),
                CPU.fromInts(new int[] {1, 5}, 2), -100, CPU.empty(DType.F32, 2), CPU.empty(DType.F32, 2)));
        assertTrue(e.getMessage().contains("targets[1] = 5"), e.getMessage());
    }
}
